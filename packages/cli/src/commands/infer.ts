import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { aekitError, applyNormalization, type Normalization, undoNormalization } from '@aekit/core';
import {
  imageGrid,
  readDataFile,
  readPngSample,
  writeAtomic,
  writeDataFile,
} from '@aekit/core/node';
import { loadAutoencoder } from '@aekit/runtime-web';
import type { Output } from '../output.js';

/** What `aekit encode | decode | reconstruct` do. */
export type InferenceAction = 'encode' | 'decode' | 'reconstruct';

/** Options of the inference commands. */
export interface InferOptions {
  readonly input: string;
  readonly output: string;
  readonly device?: string;
  /** false: inputs are already normalised and outputs stay so. */
  readonly normalize?: boolean;
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

/** Reads samples of `sampleShape` from a PNG (one sample), NPY, CSV or IDX file. */
export function readSamples(
  path: string,
  sampleShape: readonly number[],
): { data: Float32Array; count: number } {
  if (!existsSync(path)) throw aekitError('InvalidDataFile', path, 'the file does not exist.');
  const data = path.toLowerCase().endsWith('.png')
    ? readPngSample(path, sampleShape)
    : readDataFile(path).data;
  const n = size(sampleShape);
  if (data.length === 0 || data.length % n !== 0) {
    throw aekitError(
      'InvalidInput',
      `${path} holds ${data.length} values, not a whole number of samples of shape [${sampleShape.join(', ')}] (${n} values each).`,
    );
  }
  return { data, count: data.length / n };
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
 * recorded normalisation) unless `--no-normalize`; reconstructions come back raw.
 */
export async function inferCommand(
  action: InferenceAction,
  source: string,
  options: InferOptions,
  output: Output,
): Promise<void> {
  const folder = onnxFolder(source);
  const ae = await loadAutoencoder(folder, { device: options.device ?? 'auto' });
  try {
    const info = ae.info;
    const normalization = (options.normalize === false ? undefined : info.normalization) as
      | Normalization
      | undefined;
    const inShape = action === 'decode' ? info.codingShape : info.inputShape;
    const { data, count } = readSamples(options.input, inShape);
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
