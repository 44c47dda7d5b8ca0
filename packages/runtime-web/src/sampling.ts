/**
 * Seeded normal draws for `sample()`: the same seed gives the same codings in Node and in
 * browsers (bit for bit under V8, whose `Math.log`, `Math.cos` and `Math.sin` are the same
 * everywhere; another engine may round a last bit differently). The uniform values come
 * from pure-rand's xoroshiro128+, an ES-module package with no dependencies, so the
 * browser entry still loads as plain modules (an import map, no bundler).
 */
import { aekitError } from '@aekit/core/errors';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/**
 * The most output values one `sample()` call produces (`n * size(inputShape)`): 2^26, i.e.
 * 256 MiB of float32. All `n` codings are decoded in one ONNX Runtime run, whose input,
 * activations and output must be in memory at once, in onnxruntime-web inside a wasm heap
 * of at most 4 GiB; a bigger `n` would fail there with an out-of-memory abort rather than
 * an error that says why. For more samples, call `sample()` again with another seed.
 */
export const MAX_SAMPLE_VALUES = 2 ** 26;

/** The largest seed: xoroshiro128+ is seeded from 32 bits. */
export const MAX_SEED = 2 ** 32 - 1;

/** Seeded uniform floats in [0, 1), multiples of 2^-53 (pure-rand's xoroshiro128+). */
export function seededUniform(seed: number): () => number {
  const rng = xoroshiro128plus(seed);
  return () => uniformFloat64(rng);
}

/**
 * `count` draws from N(0, scale²), by Box-Muller on the pairs of `uniform`'s values: with
 * `u1, u2` the next two, `r = sqrt(-2 ln(1 - u1))` and the draws are `r cos(2π u2)` and
 * `r sin(2π u2)` (the last pair's sine is dropped when `count` is odd), times `scale`.
 */
export function normalDraws(count: number, uniform: () => number, scale = 1): Float32Array {
  const out = new Float32Array(count);
  if (scale === 0) return out; // all +0 (scaling would give -0 where a draw is negative)
  for (let k = 0; k < count; k += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform())) * scale;
    const angle = 2 * Math.PI * uniform();
    out[k] = r * Math.cos(angle);
    if (k + 1 < count) out[k + 1] = r * Math.sin(angle);
  }
  return out;
}

/** An argument as an error message shows it: numbers as written, anything else as JSON. */
export const show = (v: unknown): string =>
  typeof v === 'number' || typeof v === 'bigint' ? String(v) : (JSON.stringify(v) ?? typeof v);

/** The seed, temperature and count of a `sample()` call, checked. */
export interface SampleRequest {
  readonly n: number;
  readonly seed: number;
  readonly temperature: number;
}

/**
 * Checks the arguments of `sample(n, { seed, temperature })` for a model with samples of
 * `sampleSize` values; picks a random seed when none is given.
 *
 * @throws AekitError `InvalidArgument` naming what is wrong.
 */
export function checkSampleRequest(
  n: unknown,
  options: unknown,
  sampleSize: number,
): SampleRequest {
  const fail = (what: string): Error => aekitError('InvalidArgument', `sample(): ${what}`);
  if (typeof options !== 'object' || options === null) {
    throw fail(`options must be { seed?, temperature? }, not ${show(options)}.`);
  }
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw fail(`n must be a positive integer (the number of samples), not ${show(n)}.`);
  }
  const most = Math.max(1, Math.floor(MAX_SAMPLE_VALUES / sampleSize));
  if (n > most) {
    throw fail(
      `n is ${n}, but one call draws at most ${most} samples of ${sampleSize} values (${MAX_SAMPLE_VALUES} values in all: they are decoded in one run, held in memory at once). Call sample() again, with other seeds, for more.`,
    );
  }
  const { seed, temperature = 1 } = options as { seed?: unknown; temperature?: unknown };
  if (
    seed !== undefined &&
    !(typeof seed === 'number' && Number.isInteger(seed) && seed >= 0 && seed <= MAX_SEED)
  ) {
    throw fail(`seed must be an integer from 0 to ${MAX_SEED} (2^32 - 1), not ${show(seed)}.`);
  }
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0) {
    throw fail(
      `temperature must be a finite number >= 0 (the standard deviation of the codings; 1 is the prior), not ${show(temperature)}.`,
    );
  }
  return {
    n,
    seed: (seed as number | undefined) ?? Math.floor(Math.random() * (MAX_SEED + 1)),
    temperature,
  };
}
