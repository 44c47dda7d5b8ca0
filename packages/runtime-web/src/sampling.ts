/**
 * Seeded normal draws for `sample()`: the same seed gives the same codings in Node and in
 * browsers (bit for bit under V8, whose `Math.log`, `Math.cos` and `Math.sin` are the same
 * everywhere; another engine may round a last bit differently), and the same numbers as
 * `@aekit/core`'s `createRng(seed, 'sample')` followed by Box-Muller.
 *
 * Core's `createRng` is seedrandom's ARC4 generator, and seedrandom is a CommonJS package.
 * The browser entry imports nothing from `@aekit/core` but `@aekit/core/errors`, so that a
 * page without a bundler (an import map) loads it as plain ES modules; the generator is
 * therefore re-implemented here, and a test checks it against core's value for value.
 */
import { aekitError } from '@aekit/core/errors';

/** The `createRng` stream name `sample()` draws from. */
export const SAMPLE_STREAM = 'sample';

/**
 * The most output values one `sample()` call produces (`n * size(inputShape)`): 2^26, i.e.
 * 256 MiB of float32. All `n` codings are decoded in one ONNX Runtime run, whose input,
 * activations and output must be in memory at once, in onnxruntime-web inside a wasm heap
 * of at most 4 GiB; a bigger `n` would fail there with an out-of-memory abort rather than
 * an error that says why. For more samples, call `sample()` again with another seed.
 */
export const MAX_SAMPLE_VALUES = 2 ** 26;

const WIDTH = 256;
const MASK = WIDTH - 1;
const START_DENOM = WIDTH ** 6; // 2^48
const SIGNIFICANCE = 2 ** 52;
const OVERFLOW = SIGNIFICANCE * 2;

/**
 * A generator of floats in [0, 1), value for value the one `createRng(seed, stream)` of
 * `@aekit/core` returns (seedrandom 3's ARC4: the seed text mixed into a key, RC4 dropping
 * its first 256 bytes, 52-bit doubles from 7 or more bytes).
 */
export function seededUniform(seed: number, stream: string): () => number {
  const text = `${seed}/${stream}`;
  // seedrandom's mixkey: fold the characters of the seed text into at most 256 key bytes.
  const key: number[] = [];
  let smear = 0;
  for (let k = 0; k < text.length; k++) {
    smear ^= (key[k & MASK] ?? 0) * 19;
    key[k & MASK] = MASK & (smear + text.charCodeAt(k));
  }
  if (key.length === 0) key.push(0);
  // RC4 key schedule.
  const s = new Uint8Array(WIDTH);
  for (let k = 0; k < WIDTH; k++) s[k] = k;
  for (let k = 0, j = 0; k < WIDTH; k++) {
    const t = s[k]!;
    j = MASK & (j + key[k % key.length]! + t);
    s[k] = s[j]!;
    s[j] = t;
  }
  let i = 0;
  let j = 0;
  /** The next `count` RC4 bytes as one big-endian integer (exact up to 6 bytes). */
  const bytes = (count: number): number => {
    let r = 0;
    for (let c = 0; c < count; c++) {
      i = MASK & (i + 1);
      const t = s[i]!;
      j = MASK & (j + t);
      const u = s[j]!;
      s[i] = u;
      s[j] = t;
      r = r * WIDTH + s[MASK & (u + t)]!;
    }
    return r;
  };
  for (let c = 0; c < WIDTH; c++) bytes(1); // RC4-drop[256]
  return () => {
    let n = bytes(6);
    let d = START_DENOM;
    let x = 0;
    while (n < SIGNIFICANCE) {
      n = (n + x) * WIDTH;
      d *= WIDTH;
      x = bytes(1);
    }
    while (n >= OVERFLOW) {
      n /= 2;
      d /= 2;
      x >>>= 1;
    }
    return (n + x) / d;
  };
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

const show = (v: unknown): string =>
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
  if (seed !== undefined && !Number.isSafeInteger(seed)) {
    throw fail(`seed must be an integer (a safe one, |seed| < 2^53), not ${show(seed)}.`);
  }
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0) {
    throw fail(
      `temperature must be a finite number >= 0 (the standard deviation of the codings; 1 is the prior), not ${show(temperature)}.`,
    );
  }
  return {
    n,
    seed: (seed as number | undefined) ?? Math.floor(Math.random() * 2 ** 32),
    temperature,
  };
}
