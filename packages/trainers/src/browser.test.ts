import { describe, expect, it } from 'vitest';
import { CHROMIUM, missing } from '../../core/src/test-utils/requirements.js';
// Shared with tools/bench/train-web.mjs (`npm run bench:train-web`).
import { openTrainPage } from '../test/train-page/harness.mjs';
import type { TrainReport } from '../test/train-page/main.js';

/** Real MNIST training digits, as a page's "Train here" takes them. */
const SAMPLES = 2000;
const SETTINGS = { samples: SAMPLES, epochs: 3, batchSize: 32, seed: 1 };

describe.skipIf(missing(CHROMIUM))('installFastKernels in Chromium', () => {
  it('trains the stacked autoencoder on wasm with the SIMD kernels, its losses as on cpu', async () => {
    const session = await openTrainPage(SAMPLES);
    let fast: TrainReport;
    let cpu: TrainReport;
    try {
      fast = await session.train(true, { ...SETTINGS, backend: 'wasm' });
      cpu = await session.train(false, { ...SETTINGS, backend: 'cpu' });
    } finally {
      await session.close();
    }
    console.log(
      `[train-page] wasm + fast kernels: ${fast.samplesPerSecond.toFixed(0)} samples/s, losses ${fast.losses.map((l) => l.toFixed(5)).join(' ')}; cpu: ${cpu.samplesPerSecond.toFixed(0)} samples/s, losses ${cpu.losses.map((l) => l.toFixed(5)).join(' ')}`,
    );
    expect(fast.backend).toBe('wasm');
    expect(fast.fast).toEqual({ simd: true });
    expect(cpu.backend).toBe('cpu');
    // The fused kernels ran in the page, once per step or per layer and step (the engine's
    // own count: 63 steps an epoch): Adam for each of the 8 variables, the loss with its
    // gradient, bias + activation of the 4 dense layers forward and backward. The fused loss
    // runs on wasm only with the SIMD module (canFuseSigmoidBce), so it shows that the page
    // compiled and instantiated kernels.wasm on tfjs's heap, which the products use too.
    const steps = SETTINGS.epochs * Math.ceil(SAMPLES / SETTINGS.batchSize);
    expect(fast.kernels.AekitAdamStep).toBe(8 * steps);
    expect(fast.kernels.AekitSigmoidBce).toBe(steps);
    expect(fast.kernels.AekitBiasActivation).toBe(4 * steps);
    expect(fast.kernels.AekitBiasActivationGrad).toBe(4 * steps);
    // The same seed, initial weights and batches: the two backends differ only in the order
    // of float32 sums, which Adam's steps carry on. Measured: the epoch losses agree to 1e-5
    // (relative); 0.5% leaves room for other machines' rounding, far less than an epoch's
    // progress (the loss falls by 10% or more an epoch here).
    expect(cpu.losses).toHaveLength(SETTINGS.epochs);
    for (let e = 0; e < SETTINGS.epochs; e++) {
      expect(Math.abs(fast.losses[e]! - cpu.losses[e]!) / cpu.losses[e]!).toBeLessThan(0.005);
      if (e > 0) expect(fast.losses[e]!).toBeLessThan(fast.losses[e - 1]!);
    }
  }, 300_000);
});
