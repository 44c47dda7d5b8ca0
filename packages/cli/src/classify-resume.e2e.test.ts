import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aekit, BIN } from './test-utils/aekit.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-classify-resume-'));
const ae = join(dir, 'ae');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `aekit` and sends it SIGINT once its stderr matches `when`. */
function interrupted(
  args: string[],
  when: RegExp,
): Promise<{ code: number | null; stderr: string; sent: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args]);
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && when.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('close', (code) => resolve({ code, stderr, sent }));
  });
}

const weights = (run: string, network: string): Float32Array => {
  const bytes = readFileSync(join(run, 'model', network, 'weights.bin'));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
};
const maxAbsDiff = (a: Float32Array, b: Float32Array): number => {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
};
const manifest = (run: string) => JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8'));
const metrics = (run: string) =>
  readFileSync(join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));

beforeAll(async () => {
  const trained = await aekit(
    ...['train', '--variant', 'stacked', '--data', 'mnist', '--limit', '2000'],
    ...['--epochs', '1', '--backend', 'wasm', '--no-figures', '--out', ae],
  );
  expect(trained.code, trained.stderr).toBe(0);
});

describe('Ctrl-C during aekit classify', () => {
  it('keeps the checkpoint, and the resumed run ends as an uninterrupted one', async () => {
    // 5% of the labels (3,000 samples, 600 held out for validation), 6 epochs: long enough
    // that Ctrl-C after the first epoch lands before the last.
    const common = [
      ...['--labels-fraction', '0.05', '--validation-split', '0.2', '--seed', '3'],
      ...['--backend', 'wasm'],
    ];
    const straight = join(dir, 'straight');
    const whole = await aekit('classify', ae, ...common, '--epochs', '6', '--out', straight);
    expect(whole.code, whole.stderr).toBe(0);

    const cut = join(dir, 'cut');
    const first = await interrupted(
      ['classify', ae, ...common, '--epochs', '6', '--out', cut],
      /epoch 1\/6 /,
    );
    expect(first.sent).toBe(true);
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).toContain('error [TrainingInterrupted]');
    expect(first.stderr).toContain(`aekit classify --resume --out ${cut}`);
    const stopped = manifest(cut);
    expect(stopped.status).toBe('interrupted');
    expect(stopped.epochsCompleted).toBeGreaterThanOrEqual(1);
    expect(stopped.epochsCompleted).toBeLessThan(6);

    // Given with the run's own value (the pretrained run), or not at all: no conflict.
    const resumed = await aekit('classify', '--resume', '--out', cut, '--backend', 'wasm');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(manifest(cut).status).toBe('completed');
    expect(manifest(cut).history).toHaveLength(1);

    // The wasm backend is deterministic, and the resumed run restores the weights, the
    // optimiser and the epoch (the shuffles'), so the same test accuracy to the digit and
    // weights equal up to float32 rounding (measured 0).
    const accuracy = (stdout: string) => stdout.match(/test accuracy (0\.\d+)/)![1];
    expect(accuracy(resumed.stdout)).toBe(accuracy(whole.stdout));
    expect(manifest(cut).metrics.testAccuracy).toBe(manifest(straight).metrics.testAccuracy);
    for (const net of ['encoder', 'classifier']) {
      expect(maxAbsDiff(weights(cut, net), weights(straight, net))).toBeLessThan(1e-6);
    }
    const a = metrics(straight);
    const b = metrics(cut);
    expect(b.map((m) => m.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    for (let i = 0; i < 6; i++) {
      for (const key of ['loss', 'accuracy', 'valLoss', 'valAccuracy']) {
        expect(b[i][key], `${key} of epoch ${i + 1}`).toBeCloseTo(a[i][key], 6);
      }
    }
  });

  it('refuses settings a classifier run keeps for life, and stops early on --patience', async () => {
    const out = join(dir, 'early');
    const args = ['--labels-fraction', '0.02', '--backend', 'wasm', '--out', out];
    const noValidation = await aekit('classify', ae, ...args, '--patience', '1');
    expect(noValidation.code).toBe(1);
    expect(noValidation.stderr).toContain('--validation-split');
    // A min delta no fall of the loss reaches: epoch 1 sets the best, 2 and 3 do not count.
    const early = await aekit(
      ...['classify', ae, ...args, '--validation-split', '0.2', '--epochs', '10'],
      ...['--patience', '2', '--min-delta', '100'],
    );
    expect(early.code, early.stderr).toBe(0);
    expect(manifest(out)).toMatchObject({
      status: 'stopped-early',
      epochsCompleted: 3,
      training: { earlyStoppingPatience: 2, earlyStoppingMinDelta: 100 },
      classifier: { validationSplit: 0.2 },
    });
    const conflict = await aekit(
      ...['classify', '--resume', '--out', out, '--labels-fraction', '0.5', '--seed', '9'],
    );
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain('error [ResumeConflict]');
    expect(conflict.stderr).toContain('--labels-fraction 0.5: the run has 0.02');
    expect(conflict.stderr).toContain('--seed 9');
  });
});
