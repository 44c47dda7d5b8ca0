import { type ExportReport, exportRun } from '@aekit/trainers';
import type { Command } from 'commander';
import { startBackend } from '../backend-line.js';
import { fmt, type Output } from '../output.js';

/** Options of `aekit export`. */
export interface ExportCommandOptions {
  readonly opset?: string;
  readonly dataDir?: string;
  readonly json?: boolean;
}

/** `aekit export RUN`: writes RUN/onnx/*.onnx after checking them against the trained model. */
export async function exportCommand(
  run: string,
  options: ExportCommandOptions,
  output: Output,
): Promise<void> {
  // The reference outputs are computed on wasm, as exportRun does by default.
  const backend = await startBackend('wasm', output);
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
    .option('--json', 'print the report as JSON')
    .action(async (run: string, opts: { opset?: string; dataDir?: string; json?: boolean }) => {
      await exportCommand(run, opts, output);
    });
}
