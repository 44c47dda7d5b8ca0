import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { aekitError, applyNormalization, type Normalization } from '@aekit/core';
import { loadDataset, RunDirectory } from '@aekit/core/node';
import { type Autoencoder, loadAutoencoder } from '@aekit/runtime-web';
import type { Command } from 'commander';
import { runtimeDeviceOption } from '../flags.js';
import type { Output } from '../output.js';
import {
  checkOutputFile,
  modelNormalization,
  onnxFolder,
  readSamples,
  size,
  writeSamples,
} from './infer.js';

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
}

/** Where a run's data came from (its manifest's), to find test images by index. */
export interface RunData {
  readonly source: string;
  readonly dataDir?: string;
  readonly binarize?: number;
}

function integer(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw aekitError(
      'InvalidArgument',
      `--${flag} must be an integer of at least ${min}, got "${value}".`,
    );
  }
  return n;
}

function number(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) {
    throw aekitError('InvalidArgument', `--${flag} must be a number, got "${value}".`);
  }
  return n;
}

/**
 * `aekit sample RUN --n 60 --out samples.png`: generates with the exported model (variants
 * with the `sample` capability): codings drawn from the prior N(0, I) and decoded (VAE), or
 * the corruption-reconstruction Markov chain run from noise (GSN). Seeded.
 */
export async function sampleCommand(
  source: string,
  options: SampleOptions,
  output: Output,
): Promise<void> {
  const n = integer('n', options.n, 1);
  const cols = integer('cols', options.cols ?? '10', 1);
  const seed = options.seed === undefined ? undefined : integer('seed', options.seed, 0);
  const temperature =
    options.temperature === undefined ? undefined : number('temperature', options.temperature);
  const steps = options.steps === undefined ? undefined : integer('steps', options.steps, 1);
  checkOutputFile(options.out);
  const ae = await loadAutoencoder(onnxFolder(source), { device: options.device ?? 'auto' });
  try {
    const result = await ae.sample(n, {
      ...(seed !== undefined ? { seed } : {}),
      ...(temperature !== undefined ? { temperature } : {}),
      ...(steps !== undefined ? { steps } : {}),
    });
    writeSamples(options.out, result.data, result.shape, { cols, range: [0, 1] });
    const how =
      result.steps !== undefined
        ? `${n} Markov chains of ${result.steps} steps from uniform noise (seed ${result.seed})`
        : `${n} codings [${ae.info.codingShape.join(', ')}] from N(0, I) (seed ${result.seed}${temperature !== undefined ? `, temperature ${temperature}` : ''}) decoded`;
    output.out(`sample: ${how} to ${options.out} on ${ae.info.device}`);
  } finally {
    await ae.dispose();
  }
}

/**
 * One input sample: an index into the run's test set (`test:12`, or a plain integer), a
 * PNG image, or an NPY/CSV/IDX file holding one sample. Normalised with `normalization`, the
 * model's.
 */
function readOne(
  spec: string,
  ae: Autoencoder,
  run: RunData | undefined,
  normalization: Normalization | undefined,
): Float32Array {
  const shape = ae.info.inputShape;
  const index = /^(?:test:)?(\d+)$/.exec(spec);
  if (index && !existsSync(spec)) {
    if (!run) {
      throw aekitError(
        'InvalidArgument',
        `"${spec}" names a test image, but the model's run records no built-in data set; give an image file instead.`,
      );
    }
    const i = Number(index[1]);
    const { dataset: loaded } = loadDataset({
      source: run.source,
      split: 'test',
      ...(normalization ? { normalization } : { normalize: 'none' as const }),
      ...(run.dataDir ? { dataDir: run.dataDir } : {}),
    });
    const dataset = run.binarize === undefined ? loaded : loaded.binarize(run.binarize);
    if (i >= dataset.count) {
      throw aekitError(
        'InvalidArgument',
        `The test set has ${dataset.count} images; "${spec}" is past its end.`,
      );
    }
    return dataset.x.slice(i * dataset.featureCount, (i + 1) * dataset.featureCount);
  }
  if (!existsSync(spec)) {
    throw aekitError(
      'InvalidDataFile',
      spec,
      'the file does not exist (give an image file, or test:N for the N-th test image).',
    );
  }
  const { data, count } = readSamples(spec, shape);
  if (count !== 1) {
    throw aekitError('InvalidInput', `${spec} holds ${count} samples; give a file with one.`);
  }
  if (normalization) applyNormalization(data, data.length, normalization);
  return data;
}

/**
 * `aekit interpolate RUN --from a --to b --steps 10 --out line.png`: encodes two images,
 * decodes `steps` codings evenly spaced on the line between their codings (both ends
 * included) and writes them in one row.
 */
export async function interpolateCommand(
  source: string,
  options: InterpolateOptions,
  data: RunData | undefined,
  output: Output,
): Promise<void> {
  const steps = integer('steps', options.steps, 2);
  checkOutputFile(options.out);
  const ae = await loadAutoencoder(onnxFolder(source), { device: options.device ?? 'auto' });
  try {
    const normalization = modelNormalization(ae.info, false, output);
    const a = readOne(options.from, ae, data, normalization);
    const b = readOne(options.to, ae, data, normalization);
    const both = new Float32Array(a.length * 2);
    both.set(a);
    both.set(b, a.length);
    const codings = await ae.encode({ data: both, shape: [2, ...ae.info.inputShape] });
    const width = size(ae.info.codingShape);
    const line = new Float32Array(steps * width);
    for (let s = 0; s < steps; s++) {
      const t = s / (steps - 1);
      for (let j = 0; j < width; j++) {
        line[s * width + j] = (1 - t) * codings.data[j]! + t * codings.data[width + j]!;
      }
    }
    const decoded = await ae.decode({ data: line, shape: [steps, ...ae.info.codingShape] });
    writeSamples(options.out, decoded.data, decoded.shape, { cols: steps, range: [0, 1] });
    output.out(
      `interpolate: ${steps} codings from ${options.from} to ${options.to} decoded to ${options.out} on ${ae.info.device}`,
    );
  } finally {
    await ae.dispose();
  }
}

/** The data a run directory was trained on (from its manifest), or undefined for a bare model folder. */
export function runData(source: string, dataDir?: string): RunData | undefined {
  if (!existsSync(join(source, 'manifest.json'))) return undefined;
  const { data } = new RunDirectory(source).readManifest();
  if (data.source.startsWith('memory:')) return undefined;
  const dir = dataDir ?? data.dataDir;
  return {
    source: data.source,
    ...(dir ? { dataDir: dir } : {}),
    ...(data.binarize !== undefined ? { binarize: data.binarize } : {}),
  };
}

/** Registers `aekit sample` and `aekit interpolate`. */
export function registerGenerate(program: Command, output: Output): void {
  program
    .command('sample')
    .description(
      'Generate with an exported model that can sample: codings drawn from the prior N(0, I) and decoded (vae), or a Markov chain of corruption and reconstruction run from noise (gsn).',
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
    .option('--temperature <t>', 'vae: scale of the codings drawn (1: the prior itself)')
    .option('--steps <n>', "gsn: steps of the Markov chain (default: the model's, 30)")
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
    .addHelpText(
      'after',
      `
Examples:
  aekit interpolate runs/vae --from test:0 --to test:1 --steps 10 --out line.png
  aekit interpolate runs/vae --from a.png --to b.png --out line.png`,
    )
    .action(async (run: string, opts: InterpolateOptions & { dataDir?: string }) => {
      await interpolateCommand(run, opts, runData(run, opts.dataDir), output);
    });
}
