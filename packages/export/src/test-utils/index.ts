/**
 * Shared by the export tests: a seeded tfjs cpu backend, seeded weights and inputs, and a
 * comparison of a converted graph in ONNX Runtime with the same networks in tfjs.
 */
import { appendFileSync } from 'node:fs';
import { AekitError, type AekitErrorName, createRng } from '@aekit/core';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { expect } from 'vitest';
import { runTfjsChain } from '../export-model.js';
import { layersToOnnx, type OnnxGraphSpec } from '../layers-to-onnx.js';
import { runOnnxOutputs } from '../run-onnx.js';

/**
 * Largest |ONNX Runtime - tfjs| allowed. Both compute in float32 (about 7 significant
 * digits) but in different orders of summation and with different implementations of
 * exp, tanh, erf...; on values of order 1 to 10 that leaves differences of 1e-7 to 1e-6,
 * so 1e-5 catches any real conversion error (wrong layout, padding or constant) while
 * tolerating rounding.
 */
export const TOLERANCE = 1e-5;

/** Switches tfjs to its plain-JavaScript cpu backend (deterministic, no native code). */
export async function useCpuBackend(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
  // The cpu backend greets Node users once with advice to install tfjs-node; mute it.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
}

/** `count` seeded values, uniform in [lo, hi). */
export function uniform(count: number, seed: number, lo = -1, hi = 1): Float32Array {
  const next = createRng(seed, 'export-test');
  return Float32Array.from({ length: count }, () => lo + (hi - lo) * next());
}

/**
 * Replaces every weight of `model` with seeded values: kernels uniform with a variance
 * that keeps activations of order 1, biases and betas in [-0.5, 0.5), gammas and moving
 * variances in [0.5, 1.5), moving means in [-0.5, 0.5).
 */
export function seedWeights(model: LayersModel, seed: number): LayersModel {
  const values = model.weights.map((w, i) => {
    const size = w.shape.reduce((a, b) => a * b, 1);
    const name = w.originalName;
    const s = seed * 7919 + i;
    if (/(gamma|moving_variance)$/.test(name))
      return tf.tensor(uniform(size, s, 0.5, 1.5), w.shape);
    if (w.shape.length < 2) return tf.tensor(uniform(size, s, -0.5, 0.5), w.shape);
    const fanIn = size / w.shape[w.shape.length - 1]!;
    const a = Math.sqrt(3 / fanIn);
    return tf.tensor(uniform(size, s, -a, a), w.shape);
  });
  model.setWeights(values);
  for (const v of values) v.dispose();
  return model;
}

/** The tfjs reference of a chain of networks, as the export's own check computes it. */
export const runTfjs = runTfjsChain;

/** Largest absolute difference of two arrays of the same length. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
}

/** Options of {@link compareWithTfjs}. */
export interface CompareOptions extends Partial<Omit<OnnxGraphSpec, 'networks'>> {
  /** Batch sizes to run (default 1 and 3: the batch dimension is dynamic). */
  readonly batches?: readonly number[];
  readonly seed?: number;
  /** Range of the random inputs (default [-2, 2)). */
  readonly range?: readonly [number, number];
}

/**
 * Converts `networks`, runs random inputs through ONNX Runtime and tfjs, checks that the
 * graph has one output per output of the last network, with the same shapes, and returns
 * the largest absolute difference over every output and batch size (also appended to
 * `$AEKIT_EXPORT_DIFFS` when set, for reports).
 */
export async function compareWithTfjs(
  label: string,
  networks: readonly LayersModel[],
  options: CompareOptions = {},
): Promise<number> {
  const bytes = layersToOnnx({
    name: options.name ?? 'graph',
    networks,
    inputName: options.inputName ?? 'input',
    outputName: options.outputName ?? 'output',
    ...(options.extraOutputNames ? { extraOutputNames: options.extraOutputNames } : {}),
    ...(options.opset !== undefined ? { opset: options.opset } : {}),
  });
  const sample = networks[0]!.inputs[0]!.shape.slice(1) as number[];
  const size = sample.reduce((a, b) => a * b, 1);
  const [lo, hi] = options.range ?? [-2, 2];
  let worst = 0;
  for (const [i, batch] of (options.batches ?? [1, 3]).entries()) {
    const shape = [batch, ...sample];
    const x = uniform(batch * size, (options.seed ?? 1) * 101 + i, lo, hi);
    const expected = runTfjs(networks, x, shape);
    const actual = await runOnnxOutputs(bytes, x, shape);
    expect(actual.length, `${label}: output count`).toBe(expected.length);
    for (const [j, out] of actual.entries()) {
      expect(out.dims, `${label}: output ${out.name} shape, batch ${batch}`).toEqual(
        expected[j]!.dims,
      );
      worst = Math.max(worst, maxAbsDiff(expected[j]!.data, out.data));
    }
  }
  const file = process.env.AEKIT_EXPORT_DIFFS;
  if (file) appendFileSync(file, `${JSON.stringify({ label, maxAbsDiff: worst })}\n`);
  return worst;
}

/** Runs `fn`, expects it to throw the aekit error `code`, and returns that error. */
export function expectCode(fn: () => unknown, code: AekitErrorName): AekitError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AekitError);
    expect((err as AekitError).code).toBe(code);
    return err as AekitError;
  }
  throw new Error(`expected the call to throw ${code}`);
}
