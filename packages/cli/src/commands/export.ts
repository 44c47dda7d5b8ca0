import { exportRun } from '../export-run.js';
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
  const report = await exportRun(run, {
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
    `Checked on ${report.samples} ${report.samplesFrom} samples with ONNX Runtime (cpu) against TensorFlow.js.`,
  );
}
