import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maxAbsDiff, savedWeights, tempDir } from '../test-utils/index.js';
import { train } from './train.js';

const dir = tempDir();
const common = {
  variant: 'stacked',
  data: 'mnist',
  limit: 600,
  batchSize: 64,
  backend: 'wasm',
  figures: false,
  seed: 7,
} as const;

describe('resume', () => {
  it('stopping after epoch 1 and resuming ends with the weights of an uninterrupted run', async () => {
    const straight = join(dir, 'straight');
    const resumed = join(dir, 'resumed');
    const a = await train({ ...common, epochs: 3, out: straight });
    await train({ ...common, epochs: 1, out: resumed });
    const b = await train({
      epochs: 3,
      out: resumed,
      resume: true,
      backend: 'wasm',
      figures: false,
    });

    expect(b.manifest.epochsCompleted).toBe(3);
    expect(b.metrics.map((m) => m.epoch)).toEqual([1, 2, 3]);
    // Same seed, same shuffles, same optimizer state: the wasm backend is deterministic,
    // so the only slack needed is float32 rounding (1e-5 as the issue asks).
    for (const net of ['encoder', 'decoder']) {
      expect(maxAbsDiff(savedWeights(straight, net), savedWeights(resumed, net))).toBeLessThan(
        1e-5,
      );
    }
    for (let i = 0; i < 3; i++) {
      expect(b.metrics[i]!.loss).toBeCloseTo(a.metrics[i]!.loss, 5);
    }
    // And training really moved the weights between epoch 1 and 3.
    expect(a.metrics[2]!.loss).toBeLessThan(a.metrics[0]!.loss);
  });

  it('refuses to resume where there is no run', async () => {
    await expect(
      train({ out: join(dir, 'none'), resume: true, backend: 'wasm' }),
    ).rejects.toMatchObject({
      code: 'NothingToResume',
    });
  });

  it('refuses to start over an existing run without --overwrite', async () => {
    const out = join(dir, 'exists');
    await train({ ...common, limit: 100, epochs: 1, out });
    await expect(train({ ...common, limit: 100, epochs: 1, out })).rejects.toMatchObject({
      code: 'RunDirectoryExists',
    });
  });
});
