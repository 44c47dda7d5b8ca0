import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { aekitError, applyNormalization, type Normalization, undoNormalization } from '@aekit/core';
import {
  fileFitsSampleShape,
  imageGrid,
  oneAxisProblem,
  RunDirectory,
  readDataFile,
  readPngSample,
  writeAtomic,
  writeDataFile,
  writingTo,
} from '@aekit/core/node';
import { type AutoencoderInfo, loadAutoencoder } from '@aekit/runtime-web';
import type { Command } from 'commander';
import { runtimeDeviceOption } from '../flags.js';
import type { Output } from '../output.js';

/** What `aekit encode | decode | reconstruct` do. */
export type InferenceAction = 'encode' | 'decode' | 'reconstruct';

/** Options of the inference commands. */
export interface InferOptions {
  readonly input: string;
  readonly output: string;
  readonly device?: string;
  /** false (`--no-normalize`): as `raw`. */
  readonly normalize?: boolean;
  /** `--raw`: inputs are already normalised; the graphs run as they are, outputs stay so. */
  readonly raw?: boolean;
}

/** The folder holding a model's ONNX files: RUN/onnx, or the folder itself. */
export function onnxFolder(source: string): string {
  if (existsSync(join(source, 'onnx', 'encoder.onnx'))) return join(source, 'onnx');
  if (existsSync(join(source, 'encoder.onnx'))) return source;
  if (existsSync(join(source, 'manifest.json'))) {
    throw aekitError(
      'InvalidArgument',
      `The run "${source}" has not been exported yet: run \`aekit export ${source}\` first.`,
    );
  }
  throw aekitError('ModelLoadFailed', source, 'no encoder.onnx there or in its onnx/ folder.');
}

/** Values in one sample of `shape`. */
export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/**
 * Reads samples of `sampleShape` from a PNG (one sample), NPY, CSV or IDX file. The file's
 * samples must have that shape, as `aekit eval --data` requires (`fileFitsSampleShape`: the
 * same shape up to trailing axes of size 1, or flat rows of as many values, as a CSV has);
 * otherwise `InvalidInput` names the shape found and the one expected. `what` names the
 * samples in that message (`inputs`, `codings`).
 */
export function readSamples(
  path: string,
  sampleShape: readonly number[],
  what = 'inputs',
): { data: Float32Array; count: number } {
  if (!existsSync(path)) throw aekitError('InvalidDataFile', path, 'the file does not exist.');
  if (path.toLowerCase().endsWith('.png')) {
    return { data: readPngSample(path, sampleShape), count: 1 };
  }
  const file = readDataFile(path);
  const count = file.shape[0] ?? 0;
  const n = size(sampleShape);
  if (!fileFitsSampleShape(file.shape, sampleShape)) {
    const squeezed = [...sampleShape];
    while (squeezed.length > 1 && squeezed.at(-1) === 1) squeezed.pop();
    const shapes = new Set([sampleShape, squeezed, [n]].map((s) => `[N, ${s.join(', ')}]`));
    if (file.shape.length < 2) {
      throw aekitError(
        'InvalidInput',
        `${path} is ${oneAxisProblem(count, [...shapes].join(' or '))}`,
      );
    }
    const rows = file.shape.slice(1);
    throw aekitError(
      'InvalidInput',
      `${path} has shape ${shapeText(file.shape)}: ${count} sample(s) of shape ${shapeText(rows)} (${size(rows)} values each), but the model's ${what} have shape ${shapeText(sampleShape)} (${n} values). Give a file of shape ${[...shapes].join(' or ')} (a CSV: ${n} columns).`,
    );
  }
  if (count === 0) throw aekitError('InvalidInput', `${path} holds no samples.`);
  return { data: file.data, count };
}

/**
 * Checks, before any work is done, that `path` can be written as a file; fails with
 * `CannotWrite` when it names a folder (an existing one, or it ends with a separator), when a
 * part of it is a file, or when the folder it goes in cannot be written to.
 */
export function checkOutputFile(path: string): void {
  if (path.trim() === '' || /[\\/]$/.test(path)) {
    throw aekitError('CannotWrite', path, 'it names a folder, not a file; give a file name.');
  }
  // ENOTDIR (a part of the path is a file) becomes CannotWrite too.
  if (writingTo(path, () => statSync(path, { throwIfNoEntry: false }))?.isDirectory()) {
    throw aekitError('CannotWrite', path, 'it is an existing folder; give a file name.');
  }
  // The nearest folder that exists (a file there would have failed the stat with ENOTDIR).
  let folder = dirname(resolve(path));
  while (!existsSync(folder)) folder = dirname(folder);
  writingTo(path, () => accessSync(folder, constants.W_OK));
}

/**
 * The normalisation that maps raw inputs to what the model takes: undefined with `raw`
 * (inputs already normalised, `--raw` or `--no-normalize`); else the model's aekit.json's;
 * else, for an exported folder without aekit.json (RUN/onnx), the run's manifest.json
 * beside it, saying so on stderr; else `NormalizationUnknown`, as running the graphs on raw
 * values would give wrong answers silently.
 */
export function modelNormalization(
  info: AutoencoderInfo,
  raw: boolean,
  output: Output,
): Normalization | undefined {
  if (raw) return undefined;
  if (info.described === 'aekit.json') return info.normalization as Normalization | undefined;
  const folder = info.source;
  const run = new RunDirectory(dirname(resolve(folder)));
  if (!run.exists()) throw aekitError('NormalizationUnknown', folder);
  const manifest = run.readManifest();
  // A manifest of another model (other shapes) says nothing about this one.
  if (
    size(manifest.inputShape) !== size(info.inputShape) ||
    size(manifest.codingShape) !== size(info.codingShape)
  ) {
    throw aekitError('NormalizationUnknown', folder);
  }
  output.err(
    `normalisation: ${manifest.normalization.kind}, from ${run.manifestPath} (the model folder has no aekit.json; pass --raw if the inputs are already normalised)`,
  );
  return manifest.normalization;
}

/**
 * Writes samples `[n, ...sampleShape]` to `path`: NPY or CSV by the extension, or for `.png`
 * a grid of images, `cols` per row (default 10), values mapped from `range` (default: the
 * data's own) to black..white.
 */
export function writeSamples(
  path: string,
  data: Float32Array,
  shape: readonly number[],
  grid: { readonly cols?: number; readonly range?: readonly [number, number] } = {},
): void {
  if (!path.toLowerCase().endsWith('.png')) {
    writeDataFile(path, data, shape);
    return;
  }
  const sampleShape = shape.slice(1);
  if (sampleShape.length < 2) {
    throw aekitError(
      'InvalidArgument',
      `Outputs of shape [${sampleShape.join(', ')}] are not images; write them to .npy or .csv.`,
    );
  }
  const n = size(sampleShape);
  const samples = Array.from({ length: shape[0]! }, (_, i) => data.subarray(i * n, (i + 1) * n));
  const cols = grid.cols ?? 10;
  const rows: Float32Array[][] = [];
  for (let i = 0; i < samples.length; i += cols) rows.push(samples.slice(i, i + cols));
  writeAtomic(path, imageGrid(rows, { sampleShape, ...(grid.range ? { range: grid.range } : {}) }));
}

/**
 * `aekit encode | decode | reconstruct MODEL --input FILE --output FILE`: runs the exported
 * ONNX graphs with the aekit runtime. Inputs are raw data (normalised with the model's
 * recorded normalisation: aekit.json's, or the run manifest's) unless `--raw` (or
 * `--no-normalize`); reconstructions come back raw. Files of another sample shape and
 * outputs that cannot be written are refused before the model runs.
 */
export async function inferCommand(
  action: InferenceAction,
  source: string,
  options: InferOptions,
  output: Output,
): Promise<void> {
  const folder = onnxFolder(source);
  checkOutputFile(options.output);
  const ae = await loadAutoencoder(folder, { device: options.device ?? 'auto' });
  try {
    const info = ae.info;
    const raw = options.raw === true || options.normalize === false;
    const normalization = modelNormalization(info, raw, output);
    const inShape = action === 'decode' ? info.codingShape : info.inputShape;
    const { data, count } = readSamples(
      options.input,
      inShape,
      action === 'decode' ? 'codings' : 'inputs',
    );
    if (normalization && action !== 'decode')
      applyNormalization(data, size(inShape), normalization);
    const result = await ae[action]({ data, shape: [count, ...inShape] });
    let out = result.data;
    const outputsAreData = action !== 'encode';
    if (normalization && outputsAreData)
      out = undoNormalization(out, size(result.shape.slice(1)), normalization);
    writeSamples(
      options.output,
      out,
      result.shape,
      normalization && outputsAreData && normalization.kind === 'unit' ? { range: [0, 255] } : {},
    );
    output.out(
      `${action}: ${count} sample(s) [${inShape.join(', ')}] -> ${options.output} [${result.shape.join(', ')}] on ${info.device}`,
    );
  } finally {
    await ae.dispose();
  }
}

/** Registers `aekit encode`, `decode` and `reconstruct`. */
export function registerInference(program: Command, output: Output): void {
  const inference: Record<InferenceAction, string> = {
    encode: 'Encode samples to codings with the exported encoder.',
    decode: 'Decode codings to samples with the exported decoder.',
    reconstruct: 'Reconstruct samples with the exported autoencoder.',
  };
  for (const [action, description] of Object.entries(inference) as [InferenceAction, string][]) {
    program
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
      .option('--no-normalize', 'the same as --raw')
      .action(
        async (
          model: string,
          opts: {
            input: string;
            output: string;
            device?: string;
            normalize?: boolean;
            raw?: boolean;
          },
        ) => {
          await inferCommand(action, model, opts, output);
        },
      );
  }
}
