import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { train } from '../engine/train.js';
import { maxAbsDiff, savedWeights, tempDir } from '../test-utils/index.js';
import { releaseBackend } from './index.js';

/**
 * WebGPU without a GPU: Debian's chromium ships SwiftShader, a Vulkan driver on the CPU that
 * Dawn (the `webgpu` package) accepts. Slow, but it runs the real WebGPU kernels of tfjs.
 */
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const available = existsSync(SWIFTSHADER);
if (available) process.env.VK_ICD_FILENAMES ??= SWIFTSHADER;

afterAll(() => releaseBackend());
const dir = tempDir();

describe('webgpu backend', () => {
  // Outside CI a machine without chromium skips this; CI installs chromium and must run it.
  it.skipIf(!available && !process.env.CI)(
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
      // Same seed and data: WebGPU's float32 kernels sum in another order than wasm's; after
      // 8 Adam steps losses and weights differed by 5e-7 when measured. 1e-4 leaves room for
      // other drivers while still catching a wrong kernel (those are off by 1e-2 and more).
      for (let i = 0; i < 2; i++) {
        expect(Math.abs(gpu.metrics[i]!.loss - cpu.metrics[i]!.loss)).toBeLessThan(1e-4);
      }
      expect(
        maxAbsDiff(savedWeights(gpu.run, 'decoder'), savedWeights(cpu.run, 'decoder')),
      ).toBeLessThan(1e-4);
    },
  );
});
