import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../backends/index.js';
import { tempDir } from '../test-utils/index.js';
import { parseCheckpoint } from './checkpoint.js';
import { OPTIMIZERS } from './optimizers.js';
import { train } from './train.js';

const dir = tempDir();
const small = {
  variant: 'stacked',
  data: 'mnist',
  limit: 400,
  batchSize: 40,
  backend: 'wasm',
  figures: false,
} as const;

describe('train', () => {
  // Plain SGD needs a large step on this loss surface (the book uses 1.5); the others train at their defaults.
  const rates: Record<string, number | undefined> = { sgd: 1, momentum: 0.1 };
  it.each(Object.keys(OPTIMIZERS))('reduces the loss with the %s optimiser', async (optimizer) => {
    const learningRate = rates[optimizer];
    const r = await train({
      ...small,
      optimizer: optimizer as keyof typeof OPTIMIZERS,
      ...(learningRate ? { learningRate } : {}),
      epochs: 3,
      out: join(dir, optimizer),
    });
    expect(r.manifest.training.optimizer).toBe(optimizer);
    // Three epochs from random weights always cut a sigmoid-output BCE well below its start.
    expect(r.metrics[2]!.loss).toBeLessThan(r.metrics[0]!.loss * 0.95);
    expect(r.metrics[2]!.valLoss).toBeLessThan(r.metrics[0]!.valLoss!);
  });

  // The same run on wasm (with BLAS or, in the AEKIT_BLAS=off run, without: each path's
  // products, fused kernels and caches) and on the plain JavaScript cpu backend, the
  // reference. The same float32 arithmetic in other summation orders, so the losses stay
  // within rounding: 1e-4 after 33 Adam steps (measured: at most 1.6e-6, with BLAS and
  // without). A kernel that computes something else, or reads stale weights, is off by 1e-2
  // or more from the first epoch (0.117 with the Adam step that wrote in place).
  it('gives the losses of the cpu backend, epoch by epoch', async () => {
    const run = (backend: 'wasm' | 'cpu') =>
      train({
        ...small,
        limit: 480,
        epochs: 3,
        seed: 5,
        backend,
        out: join(dir, `same-${backend}`),
      });
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    for (let i = 0; i < 3; i++) {
      expect(Math.abs(wasm.metrics[i]!.loss - cpu.metrics[i]!.loss)).toBeLessThan(1e-4);
      expect(Math.abs(wasm.metrics[i]!.valLoss! - cpu.metrics[i]!.valLoss!)).toBeLessThan(1e-4);
    }
    expect(cpu.metrics[2]!.loss).toBeLessThan(cpu.metrics[0]!.loss * 0.95);
  });

  it('stops early when the validation loss stops improving', async () => {
    // A min-delta no epoch can reach: epoch 1 sets the best, the next `patience` epochs fail to beat it.
    const r = await train({
      ...small,
      epochs: 10,
      patience: 2,
      minDelta: 10,
      out: join(dir, 'early'),
    });
    expect(r.metrics).toHaveLength(3);
    expect(r.manifest.status).toBe('stopped-early');
    const manifest = JSON.parse(readFileSync(join(r.run, 'manifest.json'), 'utf8'));
    expect(manifest.epochsCompleted).toBe(3);
  });

  it('trains without a validation split and counts no epochs without improvement', async () => {
    const r = await train({ ...small, validationSplit: 0, epochs: 2, out: join(dir, 'no-val') });
    expect(r.metrics.every((m) => m.valLoss === undefined)).toBe(true);
    const ckpt = readFileSync(join(r.run, 'checkpoints', 'last.ckpt'));
    const { header } = parseCheckpoint(ckpt, 'last.ckpt');
    expect(header.state).toEqual({ epoch: 2, bestValLoss: null, epochsWithoutImprovement: 0 });
    await expect(
      train({ ...small, validationSplit: 0, patience: 2, out: join(dir, 'no-val-patience') }),
    ).rejects.toMatchObject({ code: 'InvalidTrainingOptions' });
  });

  it('gives the same run for the same seed and a different one for another seed', async () => {
    const a = await train({ ...small, epochs: 1, seed: 1, out: join(dir, 'seed-a') });
    const b = await train({ ...small, epochs: 1, seed: 1, out: join(dir, 'seed-b') });
    const c = await train({ ...small, epochs: 1, seed: 2, out: join(dir, 'seed-c') });
    expect(b.metrics[0]!.loss).toBe(a.metrics[0]!.loss);
    expect(c.metrics[0]!.loss).not.toBe(a.metrics[0]!.loss);
  });

  it('applies the L2 penalty of the stacked variant', async () => {
    const plain = await train({ ...small, epochs: 1, out: join(dir, 'l2-off') });
    const l2 = await train({ ...small, options: { l2: 0.01 }, epochs: 1, out: join(dir, 'l2-on') });
    // The penalty adds 0.01 * sum(kernel^2) (about 0.01 * 180 for these initial weights).
    expect(l2.metrics[0]!.loss).toBeGreaterThan(plain.metrics[0]!.loss + 0.1);
  });

  it('rejects bad training options with a typed error', async () => {
    await expect(train({ ...small, epochs: 0, out: join(dir, 'bad') })).rejects.toMatchObject({
      code: 'InvalidTrainingOptions',
    });
    await expect(train({ ...small, variant: 'nope', out: join(dir, 'bad') })).rejects.toMatchObject(
      { code: 'UnknownVariant' },
    );
    await expect(
      train({ ...small, options: { layers: [0] }, out: join(dir, 'bad') }),
    ).rejects.toMatchObject({ code: 'InvalidVariantOptions' });
    await expect(
      train({ ...small, data: join(dir, 'missing.csv'), out: join(dir, 'bad') }),
    ).rejects.toMatchObject({ code: 'UnknownDataset' });
  });
});

describe('selectBackend', () => {
  it('lists the backends for an unknown name', async () => {
    await expect(selectBackend('tpu')).rejects.toThrow(
      /Should be one of: "auto", "wasm", "cpu", "webgpu", "tensorflow"/,
    );
  });

  it('says what to install when TensorFlow for Node is absent', async () => {
    const err = await selectBackend('tensorflow').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BackendUnavailable' });
    expect((err as { hint: string }).hint).toContain('npm install @tensorflow/tfjs-node');
  });

  it('falls back to a working backend with auto', async () => {
    const info = await selectBackend('auto');
    expect(['tensorflow', 'webgpu', 'wasm', 'cpu']).toContain(info.name);
  });
});
