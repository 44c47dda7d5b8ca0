/**
 * A page that only uses `@aekit/runtime-web` (its browser entry), for the Chromium and
 * bundle tests: `window.aekitRoundTrip(base, device, inputs)` loads the model at `base`,
 * runs encode / decode / reconstruct and returns plain data for the test to compare;
 * `window.aekitRun(base, device, calls)` runs just the calls given;
 * `window.aekitVae(base, device, input, n, seed)` encodes (with the log-variance) and samples;
 * `window.aekitLoad(base, options, runs)` loads with any options and reports progress,
 * the device chosen and, optionally, the time of a batch-1 encode.
 */
import { type LoadOptions, loadAutoencoder, loadHashIndex } from '@aekit/runtime-web';

/** What `onProgress` gets. */
type LoadProgress = Parameters<NonNullable<LoadOptions['onProgress']>>[0];

/** The inputs a round trip runs (from make-models.py's expected.json). */
export interface RoundTripInputs {
  readonly input: number[][];
  readonly decodeInput: number[][];
}

/** What a round trip returns: plain arrays, so that it crosses `page.evaluate`. */
export interface RoundTripResult {
  readonly info: Record<string, unknown>;
  readonly encoded: { data: number[]; shape: number[] };
  readonly decoded: { data: number[]; shape: number[] };
  readonly reconstructed: { data: number[]; shape: number[] };
  /** Eight encodes started together (they queue), each one's codings. */
  readonly concurrent: number[][];
  /** The error for a 7-value input. */
  readonly wrongLength: { code?: string; message: string };
  readonly ms: { load: number; calls: number };
  readonly crossOriginIsolated: boolean;
}

const plain = (t: { data: Float32Array; shape: readonly number[] }) => ({
  data: Array.from(t.data),
  shape: [...t.shape],
});

/** Loads `base` on `device` and runs every call once. */
async function roundTrip(
  base: string,
  device: string,
  expected: RoundTripInputs,
): Promise<RoundTripResult> {
  const t0 = performance.now();
  const ae = await loadAutoencoder(base, { device });
  const t1 = performance.now();
  try {
    const encoded = await ae.encode(expected.input);
    const decoded = await ae.decode(Float32Array.from(expected.decodeInput.flat()));
    const reconstructed = await ae.reconstruct({
      data: Float32Array.from(expected.input.flat()),
      shape: [expected.input.length, expected.input[0]!.length],
    });
    const concurrent = await Promise.all(
      Array.from({ length: 8 }, (_, i) => ae.encode([expected.input[i % expected.input.length]!])),
    );
    let wrongLength: { code?: string; message: string } = { message: 'no error' };
    try {
      await ae.encode(new Float32Array(7));
    } catch (err) {
      wrongLength = { code: (err as { code?: string }).code, message: (err as Error).message };
    }
    return {
      info: JSON.parse(JSON.stringify(ae.info)),
      encoded: plain(encoded),
      decoded: plain(decoded),
      reconstructed: plain(reconstructed),
      concurrent: concurrent.map((c) => Array.from(c.data)),
      wrongLength,
      ms: { load: t1 - t0, calls: performance.now() - t1 },
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
    };
  } finally {
    await ae.dispose();
  }
}

/** Samples per call, as nested arrays (one array per sample). */
export interface Calls {
  readonly encode?: number[][];
  readonly decode?: number[][];
  readonly reconstruct?: number[][];
  /** Samples to classify: the output holds their labels. */
  readonly classify?: number[][];
  /** Samples to hash: the output holds the packed words, shape `[count, words]`. */
  readonly hash?: number[][];
  /**
   * Samples to search the hash index at URL `index` for: the output holds the neighbours'
   * item numbers back to back, `shape` the number found for each sample.
   */
  readonly nearest?: {
    readonly input: number[][];
    readonly index: string;
    readonly radius?: number;
    readonly k?: number;
  };
}

/** Load options that cross `page.evaluate` (no functions). */
type PlainLoadOptions = Omit<LoadOptions, 'onProgress' | 'device'>;

/**
 * Loads `base` on `device` (with `extra` load options: `worker`, `cache`…), runs the given
 * calls, and returns their outputs and the device.
 */
async function run(
  base: string,
  device: string,
  calls: Calls,
  extra: PlainLoadOptions = {},
): Promise<{ device: string; outputs: Record<string, { data: number[]; shape: number[] }> }> {
  const ae = await loadAutoencoder(base, { device, ...extra });
  try {
    const outputs: Record<string, { data: number[]; shape: number[] }> = {};
    for (const method of ['encode', 'decode', 'reconstruct'] as const) {
      const input = calls[method];
      if (input) outputs[method] = plain(await ae[method](input));
    }
    if (calls.classify) {
      const { labels } = await ae.classify(calls.classify);
      outputs.classify = { data: Array.from(labels), shape: [labels.length] };
    }
    if (calls.hash) {
      const codes = await ae.hash(calls.hash);
      outputs.hash = {
        data: Array.from(codes.data),
        shape: [codes.count, codes.data.length / codes.count],
      };
    }
    if (calls.nearest) {
      const { input, index, radius, k } = calls.nearest;
      const found = await ae.nearest(
        input,
        await loadHashIndex(index),
        radius !== undefined ? { radius } : { k: k! },
      );
      outputs.nearest = {
        data: found.flatMap((f) => Array.from(f.indices)),
        shape: found.map((f) => f.indices.length),
      };
    }
    return { device: ae.info.device, outputs };
  } finally {
    await ae.dispose();
  }
}

/** Plain data of a tensor that may be absent. */
type PlainTensor = { data: number[]; shape: number[] };

/** What {@link vae} returns: plain arrays, so that it crosses `page.evaluate`. */
export interface VaeResult {
  readonly device: string;
  readonly logVarianceName: string | null;
  readonly encoded: PlainTensor;
  /** `encode`'s `logVariance`, or null when it had none. */
  readonly logVariance: PlainTensor | null;
  readonly sampled: PlainTensor & { readonly codings: PlainTensor; readonly seed: number };
}

/** Loads the variational autoencoder at `base`, encodes `input` and samples `n` with `seed`. */
async function vae(
  base: string,
  device: string,
  input: number[][],
  n: number,
  seed: number,
  extra: PlainLoadOptions = {},
): Promise<VaeResult> {
  const ae = await loadAutoencoder(base, { device, ...extra });
  try {
    const encoded = await ae.encode(input);
    const sampled = await ae.sample(n, { seed });
    return {
      device: ae.info.device,
      logVarianceName: ae.info.logVarianceName ?? null,
      encoded: plain(encoded),
      logVariance: encoded.logVariance ? plain(encoded.logVariance) : null,
      sampled: { ...plain(sampled), codings: plain(sampled.codings!), seed: sampled.seed },
    };
  } finally {
    await ae.dispose();
  }
}

/** What {@link load} returns. */
export interface LoadResult {
  readonly info: Record<string, unknown>;
  /** Every `onProgress` report, in order. */
  readonly progress: LoadProgress[];
  /** Load time in ms. */
  readonly ms: number;
  /** Median ms of `runs` batch-1 encodes of zeros after 3 warm-up calls (when `runs` > 0). */
  readonly encodeMs?: number;
}

/** Loads `base` with `options`, collecting progress reports, optionally times encodes, disposes. */
async function load(
  base: string,
  options: PlainLoadOptions & { device?: string },
  runs = 0,
): Promise<LoadResult> {
  const progress: LoadProgress[] = [];
  const t0 = performance.now();
  const ae = await loadAutoencoder(base, { ...options, onProgress: (p) => progress.push(p) });
  const ms = performance.now() - t0;
  try {
    let encodeMs: number | undefined;
    if (runs > 0) {
      const x = new Float32Array(ae.info.inputShape.reduce((a, b) => a * b, 1));
      for (let i = 0; i < 3; i++) await ae.encode(x);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        await ae.encode(x);
        times.push(performance.now() - t);
      }
      encodeMs = times.sort((a, b) => a - b)[Math.floor(runs / 2)];
    }
    return {
      info: JSON.parse(JSON.stringify(ae.info)),
      progress,
      ms,
      ...(encodeMs !== undefined ? { encodeMs } : {}),
    };
  } finally {
    await ae.dispose();
  }
}

declare global {
  interface Window {
    aekitRoundTrip: typeof roundTrip;
    aekitRun: typeof run;
    aekitVae: typeof vae;
    aekitLoad: typeof load;
    aekitLoadAutoencoder: typeof loadAutoencoder;
  }
}

window.aekitRoundTrip = roundTrip;
window.aekitRun = run;
window.aekitVae = vae;
window.aekitLoad = load;
window.aekitLoadAutoencoder = loadAutoencoder;
document.title = 'ready';
