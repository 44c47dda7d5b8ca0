import { aekitError } from '@aekit/core';
import { type ExportReport, exportRun, exportToRepository } from '@aekit/trainers';
import type { Command } from 'commander';
import { startBackend } from '../backend-line.js';
import { fmt, type Output } from '../output.js';

/** Options of `aekit export`. */
export interface ExportCommandOptions {
  readonly opset?: string;
  readonly dataDir?: string;
  readonly json?: boolean;
  readonly repository?: string;
  readonly name?: string;
  readonly version?: string;
  readonly maxBatchSize?: string;
}

/** `aekit export RUN`: writes RUN/onnx/*.onnx after checking them against the trained model. */
export async function exportCommand(
  run: string,
  options: ExportCommandOptions,
  output: Output,
): Promise<void> {
  // The reference outputs are computed on wasm, as exportRun does by default.
  const backend = await startBackend('wasm', output);
  if (options.repository) {
    await repositoryCommand(run, options.repository, backend, options, output);
    return;
  }
  const report = await exportRun(run, {
    backend,
    ...(options.opset !== undefined ? { opset: Number(options.opset) } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  });
  if (options.json) {
    output.out(JSON.stringify(report, null, 2));
    return;
  }
  output.out(`Exported ${report.run} to ONNX (opset ${report.opset}):`);
  for (const g of report.graphs) {
    output.out(
      `  ${g.path}  ${g.inputName} -> ${[g.outputName, ...(g.extraOutputNames ?? [])].join(' + ')}  ${(g.bytes / 1024).toFixed(1)} KiB  max |ORT - tfjs| = ${fmt(g.maxAbsDiff, 3)}`,
    );
  }
  output.out(
    `Checked on ${report.samples} ${report.samplesFrom} samples${WHY[report.samplesFrom] ?? ''} with ${report.runtime.name} ${report.runtime.version} (${report.runtime.executionProvider}) against TensorFlow.js.`,
  );
}

/** `aekit export RUN --repository DIR`: adds the run's graphs to a Triton model repository. */
async function repositoryCommand(
  run: string,
  dir: string,
  backend: string,
  options: ExportCommandOptions,
  output: Output,
): Promise<void> {
  const report = await exportToRepository(run, dir, {
    backend,
    ...(options.opset !== undefined ? { opset: Number(options.opset) } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.name !== undefined ? { name: options.name } : {}),
    ...(options.version !== undefined ? { version: Number(options.version) } : {}),
    ...(options.maxBatchSize !== undefined ? { maxBatchSize: Number(options.maxBatchSize) } : {}),
  });
  if (options.json) {
    output.out(JSON.stringify(report, null, 2));
    return;
  }
  output.out(
    `Added version ${report.version} of ${report.run} to the model repository ${report.repository} (opset ${report.opset}, normalisation ${report.foldedNormalization.kind} folded in: inputs and outputs are raw values):`,
  );
  for (const m of report.models) {
    const io = (ts: typeof m.inputs) =>
      ts.map((t) => `${t.name} [${t.dims.join(', ')}]`).join(' + ');
    output.out(
      `  ${m.model}/${report.version}/model.onnx  ${io(m.inputs)} -> ${io(m.outputs)}  max |ORT - tfjs| = ${fmt(m.maxAbsDiff, 3)}`,
    );
  }
  output.out(
    `Checked on ${report.samples} ${report.samplesFrom} samples${WHY[report.samplesFrom] ?? ''} with ${report.runtime.name} ${report.runtime.version} against TensorFlow.js. Serve it here with \`aekit serve ${report.repository}\`, or with Triton or KServe (docs/serving.md).`,
  );
}

/** Why the check ran on other than held-out samples. */
const WHY: Partial<Record<ExportReport['samplesFrom'], string>> = {
  training: ' (the run kept no held-out samples: validation split 0)',
  random: ' (seeded uniform inputs: the run was trained on in-memory data)',
};

/** Registers `aekit export`. */
export function registerExport(program: Command, output: Output): void {
  program
    .command('export')
    .description(
      'Export a run to ONNX (RUN/onnx/encoder.onnx, decoder.onnx, autoencoder.onnx, aekit.json), checked against the trained model.',
    )
    .argument('<run>', 'run directory written by `aekit train`')
    .option('--opset <n>', 'ONNX opset, 13 to 17', '13')
    .option('--data-dir <dir>', "folder with the data set's files, if they moved since training")
    .option(
      '--repository <dir>',
      'instead, add the graphs to a Triton/KServe model repository: DIR/NAME-ROLE/config.pbtxt and DIR/NAME-ROLE/VERSION/model.onnx, normalisation folded in (inputs and outputs on the raw scale)',
    )
    .option(
      '--name <name>',
      "with --repository: the models' name stem, NAME-encoder, NAME-decoder, … (default: the run folder's name)",
    )
    .option(
      '--version <n>',
      'with --repository: the version to add (default: the next free one); an existing version is never replaced',
    )
    .option('--max-batch-size <n>', "with --repository: Triton's max_batch_size", '256')
    .option('--json', 'print the report as JSON')
    .action(async (run: string, opts: ExportCommandOptions) => {
      if (!opts.repository) {
        for (const flag of ['name', 'version'] as const) {
          if (opts[flag] !== undefined) {
            throw aekitError('InvalidArgument', `--${flag} is used with --repository only.`);
          }
        }
      }
      await exportCommand(run, opts, output);
    });
}
