import { listVariants } from '@aekit/core';
import { interpolateToFile, sampleToFile } from '@aekit/runtime-web';
import type { Command } from 'commander';
import { numberFlag, runtimeDeviceOption } from '../flags.js';
import type { Output } from '../output.js';

/** Options of `aekit sample`. */
export interface SampleOptions {
  readonly n: string;
  readonly out: string;
  readonly seed?: string;
  readonly temperature?: string;
  readonly steps?: string;
  readonly cols?: string;
  readonly device?: string;
}

/** Options of `aekit interpolate`. */
export interface InterpolateOptions {
  readonly from: string;
  readonly to: string;
  readonly steps: string;
  readonly out: string;
  readonly device?: string;
  readonly dataDir?: string;
  /** false (`--no-check-scale`): image files are not compared with the model's normalisation. */
  readonly checkScale?: boolean;
}

/** `aekit sample RUN --n 60 --out samples.png`: `sampleToFile` of `@aekit/runtime-web`. */
export async function sampleCommand(
  source: string,
  options: SampleOptions,
  output: Output,
): Promise<void> {
  const n = numberFlag(options.n, '--n', 1)!;
  const seed = numberFlag(options.seed, '--seed', 0);
  const temperature = numberFlag(options.temperature, '--temperature');
  const steps = numberFlag(options.steps, '--steps', 1);
  const report = await sampleToFile(source, n, {
    out: options.out,
    cols: numberFlag(options.cols ?? '10', '--cols', 1)!,
    ...(seed !== undefined ? { seed } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    ...(steps !== undefined ? { steps } : {}),
    ...(options.device ? { device: options.device } : {}),
  });
  const how =
    report.steps !== undefined
      ? `${n} Markov chains of ${report.steps} steps from uniform noise (seed ${report.seed})`
      : `${n} codings [${report.codingShape.join(', ')}] from N(0, I) (seed ${report.seed}${temperature !== undefined ? `, temperature ${temperature}` : ''}) decoded`;
  output.out(`sample: ${how} to ${options.out} on ${report.device}`);
}

/**
 * `aekit interpolate RUN --from a --to b --steps 10 --out line.png`: `interpolateToFile` of
 * `@aekit/runtime-web`.
 */
export async function interpolateCommand(
  source: string,
  options: InterpolateOptions,
  output: Output,
): Promise<void> {
  const steps = numberFlag(options.steps, '--steps', 2)!;
  const { device } = await interpolateToFile(source, {
    from: options.from,
    to: options.to,
    steps,
    out: options.out,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.device ? { device: options.device } : {}),
    ...(options.checkScale === false ? { checkScale: false } : {}),
    onNotice: (text) => output.err(text),
  });
  output.out(
    `interpolate: ${steps} codings from ${options.from} to ${options.to} decoded to ${options.out} on ${device}`,
  );
}

/** The registered variants whose models can sample, from their declared capabilities. */
export function samplingVariants(): string[] {
  return listVariants()
    .filter((p) => p.capabilities.includes('sample'))
    .map((p) => p.name);
}

/** Registers `aekit sample` and `aekit interpolate`. */
export function registerGenerate(program: Command, output: Output): void {
  program
    .command('sample')
    .description(
      `Generate with an exported model that can sample (variants: ${samplingVariants().join(', ')}): codings drawn from the prior N(0, I) and decoded, or, where the model samples by a Markov chain, corruption and reconstruction run from noise for --steps steps.`,
    )
    .argument(
      '<run>',
      'an exported run directory, or a folder holding encoder.onnx and decoder.onnx',
    )
    .option('--n <count>', 'samples to draw', '60')
    .requiredOption('--out <file>', 'where to write them: .png (a grid), .npy or .csv')
    .option(
      '--seed <n>',
      'random seed: the same seed draws the same samples (default: random, printed)',
    )
    .option('--temperature <t>', 'prior samplers: scale of the codings drawn (1: the prior itself)')
    .option('--steps <n>', "Markov-chain samplers: steps of the chain (default: the model's)")
    .option('--cols <n>', 'columns of the PNG grid', '10')
    .addOption(runtimeDeviceOption())
    .addHelpText(
      'after',
      `
Examples:
  aekit sample runs/vae --n 60 --out samples.png --seed 1
  aekit sample runs/vae --n 1000 --out samples.npy --temperature 0.8
  aekit sample runs/gsn --n 20 --steps 100 --out chain.png --seed 2`,
    )
    .action(async (run: string, opts: SampleOptions) => {
      await sampleCommand(run, opts, output);
    });

  program
    .command('interpolate')
    .description(
      "Decode the straight line between two inputs' codings: --steps images from one to the other, both ends included.",
    )
    .argument(
      '<run>',
      'an exported run directory, or a folder holding encoder.onnx and decoder.onnx',
    )
    .requiredOption(
      '--from <input>',
      "test:N (the N-th test image of the run's data set) or an image file (.png, .npy, .csv)",
    )
    .requiredOption('--to <input>', 'the other end, as --from')
    .option('--steps <n>', 'images on the line, both ends included', '10')
    .requiredOption('--out <file>', 'where to write them: .png (one row), .npy or .csv')
    .option(
      '--data-dir <dir>',
      "folder with the data set's files, if not where training found them",
    )
    .addOption(runtimeDeviceOption())
    .option(
      '--no-check-scale',
      "do not compare image files' range with the model's normalisation. By default files of values in [0, 1] given to a model that normalises 0..255 pixels itself are refused (InputScaleMismatch): give raw pixels, as PNG files are",
    )
    .addHelpText(
      'after',
      `
Examples:
  aekit interpolate runs/vae --from test:0 --to test:1 --steps 10 --out line.png
  aekit interpolate runs/vae --from a.png --to b.png --out line.png`,
    )
    .action(async (run: string, opts: InterpolateOptions) => {
      await interpolateCommand(run, opts, output);
    });
}
