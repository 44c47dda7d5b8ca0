import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { train } from '../engine/train.js';
import { maxAbsDiff, savedWeights, tempDir } from '../test-utils/index.js';
import { missing, SWIFTSHADER, useSwiftShader } from '../test-utils/requirements.js';
import { releaseBackend } from './index.js';

/**
 * WebGPU without a GPU: Debian's chromium ships SwiftShader, a Vulkan driver on the CPU that
 * Dawn (the `webgpu` package) accepts. Slow, but it runs the real WebGPU kernels of tfjs.
 */
useSwiftShader();

afterAll(() => releaseBackend());
const dir = tempDir();

describe('webgpu backend', () => {
  it.skipIf(missing(SWIFTSHADER))(
    'trains on WebGPU (SwiftShader) to the same losses and weights as wasm',
    async () => {
      const common = {
        variant: 'stacked',
        data: 'mnist',
        limit: 256,
        epochs: 2,
        batchSize: 64,
        seed: 3,
        figures: false,
      } as const;
      const events: string[] = [];
      const gpu = await train({ ...common, backend: 'webgpu', out: join(dir, 'gpu') }, (e) => {
        if (e.type === 'start') events.push(`${e.backend}: ${e.detail}`);
      });
      const cpu = await train({ ...common, backend: 'wasm', out: join(dir, 'wasm') });

      expect(gpu.manifest.training.backend).toBe('webgpu');
      expect(events[0]).toMatch(/^webgpu: WebGPU on /);
      expect(gpu.metrics[1]!.loss).toBeLessThan(gpu.metrics[0]!.loss);
      // Same seed and data: WebGPU's float32 kernels sum in another order than wasm's, and
      // wasm runs aekit's fused cross-entropy and Adam kernels (bias corrections in double)
      // where WebGPU runs tfjs's ops. After 8 Adam steps the losses differed by 1.1e-5 when
      // measured; 1e-4 leaves room for other drivers while still catching a wrong kernel
      // (those are off by 1e-2 and more).
      for (let i = 0; i < 2; i++) {
        console.log('LOSS', gpu.metrics[i]!.loss, cpu.metrics[i]!.loss);
        expect(Math.abs(gpu.metrics[i]!.loss - cpu.metrics[i]!.loss)).toBeLessThan(1e-4);
      }
      const a = savedWeights(gpu.run, 'decoder');
      const b = savedWeights(cpu.run, 'decoder');
      let sum = 0;
      for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
      // Weights: the mean difference was 4.9e-6. A few weights of pixels that are always 0
      // get gradients of rounding size, and Adam's normalised step moves them by up to the
      // learning rate either way (the largest difference was 1.9e-4): hence the mean.
      expect(sum / a.length).toBeLessThan(2e-5);
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-2);
    },
  );
});
