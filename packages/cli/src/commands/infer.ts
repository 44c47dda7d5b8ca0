import { type FileAction, runOnFile } from '@aekit/runtime-web';
import type { Command } from 'commander';
import { runtimeDeviceOption } from '../flags.js';
import type { Output } from '../output.js';

/** Options of the inference commands. */
export interface InferOptions {
  readonly input: string;
  readonly output: string;
  readonly device?: string;
  /** false (`--no-normalize`): as `raw`. */
  readonly normalize?: boolean;
  /** `--raw`: inputs are already normalised; the graphs run as they are, outputs stay so. */
  readonly raw?: boolean;
  /** false (`--no-check-scale`): inputs are not compared with the model's normalisation. */
  readonly checkScale?: boolean;
}

/**
 * `aekit encode | decode | reconstruct MODEL --input FILE --output FILE`: `runOnFile` of
 * `@aekit/runtime-web`, and a line saying what it did.
 */
export async function inferCommand(
  action: FileAction,
  source: string,
  options: InferOptions,
  output: Output,
): Promise<void> {
  const report = await runOnFile(action, source, {
    input: options.input,
    output: options.output,
    raw: options.raw === true || options.normalize === false,
    ...(options.checkScale === false ? { checkScale: false } : {}),
    ...(options.device ? { device: options.device } : {}),
    onNotice: (text) => output.err(text),
  });
  output.out(
    `${action}: ${report.count} sample(s) [${report.inputShape.join(', ')}] -> ${options.output} [${report.outputShape.join(', ')}] on ${report.device}`,
  );
}

/** Registers `aekit encode`, `decode` and `reconstruct`. */
export function registerInference(program: Command, output: Output): void {
  const inference: Record<FileAction, string> = {
    encode: 'Encode samples to codings with the exported encoder.',
    decode: 'Decode codings to samples with the exported decoder.',
    reconstruct: 'Reconstruct samples with the exported autoencoder.',
  };
  for (const [action, description] of Object.entries(inference) as [FileAction, string][]) {
    const command = program
      .command(action)
      .description(
        `${description} Reads and writes .npy, .csv and .png (one image in, a grid out).`,
      )
      .argument(
        '<model>',
        'an exported run directory, or a folder holding encoder.onnx and decoder.onnx',
      )
      .requiredOption(
        '--input <file>',
        action === 'decode'
          ? 'codings (.npy or .csv)'
          : 'samples (.npy, .csv, .idx or one .png image)',
      )
      .requiredOption(
        '--output <file>',
        action === 'encode'
          ? 'codings to write (.npy or .csv)'
          : 'samples to write (.npy, .csv or .png)',
      )
      .addOption(runtimeDeviceOption())
      .option(
        '--raw',
        "inputs are already normalised; use the graphs as they are (outputs stay normalised). Without it, inputs are normalised as in training: by the model's aekit.json, or the run's manifest.json beside an onnx/ folder without one; with neither, aekit refuses",
      )
      .option('--no-normalize', 'the same as --raw');
    if (action !== 'decode') {
      command
        .option(
          '--no-check-scale',
          "do not compare the inputs' range with the model's normalisation. By default inputs that contradict it are refused (InputScaleMismatch): values in [0, 1] for a model that normalises 0..255 pixels itself (pass --no-normalize, or raw values), or 0..255 with --no-normalize",
        )
        .addHelpText(
          'after',
          `
Scale: inputs are raw values, as the training data was stored (MNIST: 0..255 pixels,
uint8 or float); aekit normalises them as the run did. Values already normalised (MNIST:
[0, 1]) need --no-normalize.`,
        );
    }
    command.action(async (model: string, opts: InferOptions) => {
      await inferCommand(action, model, opts, output);
    });
  }
}
