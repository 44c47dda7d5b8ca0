/**
 * Sample files around a model, in Node: the model folder of a run, samples read from PNG,
 * NPY, CSV or IDX files of the model's shape, outputs written as NPY, CSV or a PNG grid, and
 * the normalisation raw inputs take. What `aekit encode`, `sample` and `hash` read and write.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Normalization } from '@aekit/core';
import { aekitError } from '@aekit/core/errors';
import { checkInputScale } from '@aekit/core/model';
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
import type { AutoencoderInfo } from './session.js';

/** Values in one sample of `shape`. */
export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/**
 * The folder holding a model's ONNX files: `RUN/onnx` of a run directory, or the folder
 * itself.
 *
 * @throws AekitError `InvalidArgument` for a run not exported yet, `ModelLoadFailed` for a
 *   folder without `encoder.onnx`.
 */
export function modelFolder(source: string): string {
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

/**
 * Reads samples of `sampleShape` from a PNG (one sample), NPY, CSV or IDX file. The file's
 * samples must have that shape (`fileFitsSampleShape`: the same shape up to trailing axes of
 * size 1, or flat rows of as many values, as a CSV has).
 *
 * @param what - names the samples in the error message (`inputs`, `codings`).
 * @throws AekitError `InvalidDataFile` (no such file), `InvalidInput` naming the shape found
 *   and the one expected, or an empty file.
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
  const n = shapeSize(sampleShape);
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
      `${path} has shape ${shapeText(file.shape)}: ${count} sample(s) of shape ${shapeText(rows)} (${shapeSize(rows)} values each), but the model's ${what} have shape ${shapeText(sampleShape)} (${n} values). Give a file of shape ${[...shapes].join(' or ')} (a CSV: ${n} columns).`,
    );
  }
  if (count === 0) throw aekitError('InvalidInput', `${path} holds no samples.`);
  return { data: file.data, count };
}

/**
 * Checks, before any work is done, that `path` can be written as a file.
 *
 * @throws AekitError `CannotWrite` when it names a folder (an existing one, or it ends with a
 *   separator), when a part of it is a file, or when its folder cannot be written to.
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

/** Receives what a file job says besides its result (where a normalisation came from). */
export type NoticeListener = (text: string) => void;

/**
 * The normalisation recorded for the model: its aekit.json's; else, for an exported folder
 * without aekit.json (RUN/onnx), that of the run's manifest.json beside it, when the
 * manifest is of this model (the same shapes); else undefined.
 */
function recordedNormalization(
  info: AutoencoderInfo,
): { normalization: Normalization; from?: string } | undefined {
  if (info.described === 'aekit.json') {
    return info.normalization ? { normalization: info.normalization } : undefined;
  }
  const run = new RunDirectory(dirname(resolve(info.source)));
  if (!run.exists()) return undefined;
  const manifest = run.readManifest();
  // A manifest of another model (other shapes) says nothing about this one.
  if (
    shapeSize(manifest.inputShape) !== shapeSize(info.inputShape) ||
    shapeSize(manifest.codingShape) !== shapeSize(info.codingShape)
  ) {
    return undefined;
  }
  return { normalization: manifest.normalization, from: run.manifestPath };
}

/**
 * The normalisation that maps raw inputs to what the model takes: undefined with `raw`
 * (inputs already normalised); else the model's aekit.json's; else, for an exported folder
 * without aekit.json (RUN/onnx), the run's manifest.json beside it, said to `onNotice`.
 *
 * @throws AekitError `NormalizationUnknown` where neither records one: running the graphs
 *   on raw values would give wrong answers silently.
 */
export function modelNormalization(
  info: AutoencoderInfo,
  raw: boolean,
  onNotice?: NoticeListener,
): Normalization | undefined {
  if (raw) return undefined;
  if (info.described === 'aekit.json') return info.normalization;
  const recorded = recordedNormalization(info);
  if (!recorded) throw aekitError('NormalizationUnknown', info.source);
  onNotice?.(
    `normalisation: ${recorded.normalization.kind}, from ${recorded.from} (the model folder has no aekit.json; pass --raw if the inputs are already normalised)`,
  );
  return recorded.normalization;
}

/** How {@link checkSampleScale} checks. */
export interface SampleScaleOptions {
  /** The samples are already normalised (`--raw`, `--no-normalize`). */
  readonly raw: boolean;
  /** false (`--no-check-scale`): no check. */
  readonly check?: boolean;
}

/**
 * Refuses samples read from a file whose range contradicts the model's recorded
 * normalisation (`checkInputScale` of `@aekit/core`): values in [0, 1] given as raw to a
 * model that normalises 0..255 itself, or 0..255 given as already normalised. Nothing is
 * checked where no normalisation is recorded, or with `check: false`.
 *
 * @param what - names the samples in the message (the file).
 * @throws AekitError `InputScaleMismatch`.
 */
export function checkSampleScale(
  data: Float32Array,
  info: AutoencoderInfo,
  what: string,
  options: SampleScaleOptions,
): void {
  if (options.check === false) return;
  let recorded: ReturnType<typeof recordedNormalization>;
  try {
    recorded = recordedNormalization(info);
  } catch {
    // A manifest beside the folder that cannot be read: --raw runs without it, unchecked.
    return;
  }
  checkInputScale(
    data,
    shapeSize(info.inputShape),
    recorded?.normalization,
    options.raw ? 'normalized' : 'raw',
    what,
  );
}

/** How {@link writeSamples} draws a PNG grid. */
export interface SampleGridOptions {
  /** Images per row (default 10). */
  readonly cols?: number;
  /** Values mapped to black..white (default: the data's own range). */
  readonly range?: readonly [number, number];
}

/**
 * Writes samples `[n, ...sampleShape]` to `path`: NPY or CSV by the extension, or for `.png`
 * a grid of images.
 *
 * @throws AekitError `InvalidArgument` for a PNG of samples that are not images.
 */
export function writeSamples(
  path: string,
  data: Float32Array,
  shape: readonly number[],
  grid: SampleGridOptions = {},
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
  const n = shapeSize(sampleShape);
  const samples = Array.from({ length: shape[0]! }, (_, i) => data.subarray(i * n, (i + 1) * n));
  const cols = grid.cols ?? 10;
  const rows: Float32Array[][] = [];
  for (let i = 0; i < samples.length; i += cols) rows.push(samples.slice(i, i + cols));
  writeAtomic(path, imageGrid(rows, { sampleShape, ...(grid.range ? { range: grid.range } : {}) }));
}
