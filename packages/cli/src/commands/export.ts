import { aekitError, formatBytes, type Precision } from '@aekit/core';
import { describeQuality } from '@aekit/export';
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
  readonly precision?: string;
  readonly maxQualityLoss?: string;
}

/** `--precision` and `--max-quality-loss` as exportRun takes them (it checks the values). */
function precisionOptions(options: ExportCommandOptions) {
  return {
    ...(options.precision !== undefined
      ? { precision: options.precision as Precision | 'auto' }
      : {}),
    ...(options.maxQualityLoss !== undefined
      ? { maxQualityLoss: Number(options.maxQualityLoss) }
      : {}),
  };
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
    ...precisionOptions(options),
  });
  if (options.json) {
    output.out(JSON.stringify(report, null, 2));
    return;
  }
  output.out(
    `Exported ${report.run} to ONNX (opset ${report.opset}, ${report.precision} weights):`,
  );
  for (const g of report.graphs) {
    const size =
      g.fp32Bytes !== undefined
        ? `${formatBytes(g.bytes)} (fp32: ${formatBytes(g.fp32Bytes)})`
        : formatBytes(g.bytes);
    output.out(
      `  ${g.path}  ${g.inputName} -> ${[g.outputName, ...(g.extraOutputNames ?? [])].join(' + ')}  ${size}  max |ORT - tfjs| = ${fmt(g.maxAbsDiff, 3)}`,
    );
  }
  output.out(
    `Checked on ${report.samples} ${report.samplesFrom} samples${WHY[report.samplesFrom] ?? ''} with ${report.runtime.name} ${report.runtime.version} (${report.runtime.executionProvider}) against TensorFlow.js${report.precision === 'fp32' ? '' : ' (at fp32)'}.`,
  );
  for (const o of report.overBudget ?? []) {
    output.out(
      `Not ${o.precision}: its loss of ${fmt(o.loss * 100, 3)}% is over the budget (--max-quality-loss).`,
    );
  }
  const q = report.quality;
  if (q) {
    output.out(
      `Quality at ${report.precision} against fp32 on ${q.samples} ${q.from} samples: ${describeQuality(q)}; largest loss ${fmt(q.loss * 100, 3)}% (budget ${Number((q.budget * 100).toPrecision(6))}%).`,
    );
  }
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
    ...precisionOptions(options),
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
    .option(
      '--precision <p>',
      'weights at fp32, fp16 or int8 (weight-only, a scale per output channel), or auto: the smallest whose quality loss against fp32, measured on held-out samples, fits --max-quality-loss; recorded in aekit.json',
    )
    .option(
      '--max-quality-loss <x>',
      'with --precision: the largest relative quality loss against fp32 allowed (0.01 = 1%, the default); over it, nothing is written',
    )
    .option('--json', 'print the report as JSON')
    .action(async (run: string, opts: ExportCommandOptions) => {
      if (!opts.repository) {
        for (const flag of ['name', 'version'] as const) {
          if (opts[flag] !== undefined) {
            throw aekitError('InvalidArgument', `--${flag} is used with --repository only.`);
          }
        }
      }
      if (opts.maxQualityLoss !== undefined && opts.precision === undefined) {
        throw aekitError(
          'InvalidArgument',
          '--max-quality-loss is used with --precision only (e.g. --precision auto --max-quality-loss 0.02).',
        );
      }
      await exportCommand(run, opts, output);
    });
}
