import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { aekitError, type RunManifest } from '@aekit/core';
import { RunDirectory } from '@aekit/core/node';
import { describe, expect, it } from 'vitest';
import { loadRunModel } from '../model/io.js';
import { disposeNetworks } from '../plugin.js';
import { tempDir } from '../test-utils/index.js';
import type { TrainEvent } from './events.js';
import { train } from './train.js';

const dir = tempDir('aekit-run-safety-');
const common = {
  variant: 'stacked',
  data: 'mnist',
  limit: 200,
  batchSize: 50,
  backend: 'wasm',
  figures: false,
  seed: 3,
  options: { layers: '32,8' },
} as const;

const manifestOf = (out: string): RunManifest =>
  JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));

/** A finished one-epoch run in a fresh folder. */
async function oneEpoch(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const out = join(dir, name);
  await train({ ...common, epochs: 1, out, ...extra });
  return out;
}

/** Flips the bits of one byte of `path`. */
function flipByte(path: string, at: number): void {
  const bytes = readFileSync(path);
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(path, bytes);
}

describe('a run directory never holds a wrong or half-finished run that says it is fine', () => {
  it('is "running", not "completed", until its figures are on disk, and lists them', async () => {
    const out = join(dir, 'figures');
    let statusDuringFigures: string | undefined;
    await train({ ...common, epochs: 1, figures: true, out }, (event: TrainEvent) => {
      if (event.type === 'figures') statusDuringFigures = manifestOf(out).status;
    });
    expect(statusDuringFigures).toBe('running');
    const manifest = manifestOf(out);
    expect(manifest.status).toBe('completed');
    const loss = readFileSync(join(out, 'figures', 'loss.png'));
    expect(manifest.files!['figures/loss.png']).toEqual({
      sha256: createHash('sha256').update(loss).digest('hex'),
      bytes: loss.length,
    });
    for (const file of ['model/encoder/weights.bin', 'checkpoints/last.ckpt', 'metrics.jsonl']) {
      expect(manifest.files![file], file).toBeDefined();
    }
  });

  it("refuses a folder of the user's files, writing nothing into it", async () => {
    const out = join(dir, 'mine');
    mkdirSync(join(out, 'figures'), { recursive: true });
    writeFileSync(join(out, 'figures', 'loss.png'), 'my plot');
    writeFileSync(join(out, 'metrics.jsonl'), 'my numbers\n');
    for (const overwrite of [false, true]) {
      await expect(train({ ...common, epochs: 1, out, overwrite })).rejects.toMatchObject({
        code: 'RunDirectoryNotEmpty',
      });
    }
    expect(readdirSync(out).sort()).toEqual(['figures', 'metrics.jsonl']);
    expect(readFileSync(join(out, 'figures', 'loss.png'), 'utf8')).toBe('my plot');
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8')).toBe('my numbers\n');
  });

  it("--overwrite keeps a file of the user's inside the run", async () => {
    const out = await oneEpoch('overwrite');
    writeFileSync(join(out, 'model', 'notes.txt'), 'mine');
    await train({ ...common, epochs: 1, out, overwrite: true });
    expect(readFileSync(join(out, 'model', 'notes.txt'), 'utf8')).toBe('mine');
    expect(manifestOf(out).status).toBe('completed');
  });

  it('a second writer on the same run gets RunLocked while the first trains', async () => {
    const out = join(dir, 'locked');
    const first = train({ ...common, epochs: 2, out });
    await expect(train({ ...common, epochs: 1, out, seed: 4 })).rejects.toMatchObject({
      code: 'RunLocked',
    });
    await expect(train({ out, resume: true, epochs: 3 })).rejects.toMatchObject({
      code: 'RunLocked',
    });
    const result = await first;
    expect(result.manifest.training.seed).toBe(3);
    expect(manifestOf(out).training.seed).toBe(3);
    expect(existsSync(join(out, '.aekit.lock'))).toBe(false);
  });

  it('leaves no folder behind when the model cannot be built', async () => {
    const out = join(dir, 'too-large');
    const err = await train({ ...common, epochs: 1, out, options: { layers: '1000000000' } }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'ModelTooLarge' });
    // 2 x 784 x 1e9 weights (and biases), 16 bytes each while training: about 22.8 TiB.
    expect((err as Error).message).toContain('would need about 22.8 TiB');
    expect(existsSync(out)).toBe(false);
  });
});

describe('resume means resume', () => {
  it('refuses settings a run keeps for life, listing each', async () => {
    const out = await oneEpoch('conflicts');
    const err = await train({
      out,
      resume: true,
      epochs: 2,
      batchSize: 7,
      variant: 'tied',
      seed: 9,
      options: { layers: '64,8' },
      data: 'fashion-mnist',
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ResumeConflict' });
    const message = (err as Error).message;
    for (const part of [
      '--batch-size 7: the run has 50',
      '--variant "tied": the run has "stacked"',
      '--seed 9: the run has 3',
      '--layers [64,8]: the run has [32,8]',
      '--data "fashion-mnist": the run has "mnist"',
    ]) {
      expect(message).toContain(part);
    }
    // Nothing changed on disk.
    expect(manifestOf(out).epochsCompleted).toBe(1);
    expect(manifestOf(out).history).toBeUndefined();
  });

  it('the same settings again are no conflict', async () => {
    const out = await oneEpoch('same');
    const result = await train({ ...common, out, resume: true, epochs: 2 });
    expect(result.manifest.epochsCompleted).toBe(2);
  });

  it('applies a new learning rate and epochs, says so, and records them', async () => {
    const out = await oneEpoch('lr');
    const notices: string[] = [];
    // A temporary file of a write that a killed run left behind.
    writeFileSync(join(out, 'model', 'encoder', 'weights.bin.3141592653'), 'half');
    const result = await train(
      { out, resume: true, epochs: 2, learningRate: 0.0005, backend: 'wasm', figures: false },
      (event: TrainEvent) => {
        if (event.type === 'notice') notices.push(event.message);
      },
    );
    expect(notices.join('\n')).toContain('learning rate changes from 0.001 to 0.0005');
    expect(result.manifest.training.learningRate).toBe(0.0005);
    const history = manifestOf(out).history!;
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({
      fromEpoch: 1,
      changed: { epochs: { from: 1, to: 2 }, learningRate: { from: 0.001, to: 0.0005 } },
    });
    expect(existsSync(join(out, 'model', 'encoder', 'weights.bin.3141592653'))).toBe(false);
  });

  it('keeps the early stopping the run was started with', async () => {
    const out = await oneEpoch('patience', { patience: 4 });
    const result = await train({ out, resume: true, epochs: 2, figures: false });
    expect(result.manifest.training.earlyStoppingPatience).toBe(4);
  });
});

describe('files changed after aekit wrote them', () => {
  const loadModel = (out: string) => {
    const { model } = loadRunModel(new RunDirectory(out));
    disposeNetworks(model.networks);
  };

  it('a flipped byte or a cut in weights.bin, or a garbled model.json: CorruptRunFile', async () => {
    const out = await oneEpoch('weights');
    const weights = join(out, 'model', 'encoder', 'weights.bin');
    const good = readFileSync(weights);
    loadModel(out);
    flipByte(weights, 100);
    expect(() => loadModel(out)).toThrow(expect.objectContaining({ code: 'CorruptRunFile' }));
    writeFileSync(weights, good.subarray(0, good.length - 8));
    expect(() => loadModel(out)).toThrow(expect.objectContaining({ code: 'CorruptRunFile' }));
    writeFileSync(weights, good);
    loadModel(out);
    writeFileSync(join(out, 'model', 'decoder', 'model.json'), '{"format": "layers-mo');
    expect(() => loadModel(out)).toThrow(expect.objectContaining({ code: 'CorruptRunFile' }));
  });

  it('a flipped byte or a cut in the checkpoint: CorruptRunFile on resume', async () => {
    for (const damage of ['flip', 'cut'] as const) {
      const out = await oneEpoch(`checkpoint-${damage}`);
      const ckpt = join(out, 'checkpoints', 'last.ckpt');
      if (damage === 'flip') flipByte(ckpt, readFileSync(ckpt).length - 3);
      else truncateSync(ckpt, readFileSync(ckpt).length - 10);
      const err = await train({ out, resume: true, epochs: 2 }).catch((e: unknown) => e);
      expect(err, damage).toMatchObject({ code: 'CorruptRunFile' });
      expect((err as Error).message).toContain('last.ckpt');
    }
  });
});

describe('TrainingDiverged', () => {
  it('points to the checkpoint only when an epoch completed', () => {
    expect(aekitError('TrainingDiverged', 1, Number.NaN).hint).not.toContain('last.ckpt');
    expect(aekitError('TrainingDiverged', 4, Number.NaN).hint).toContain(
      'Epoch 3, the last good one, is in checkpoints/last.ckpt',
    );
  });
});
