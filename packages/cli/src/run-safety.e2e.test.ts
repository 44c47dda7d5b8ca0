import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aekit } from './test-utils/aekit.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-run-safety-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TRAIN = [
  'train',
  '--variant',
  'stacked',
  '--data',
  'mnist',
  '--limit',
  '1000',
  '--epochs',
  '3',
  '--backend',
  'wasm',
  '--no-figures',
];

describe('aekit train and the files already in --out', () => {
  it("refuses a folder of the user's own files and leaves them as they were", async () => {
    const out = join(dir, 'mine');
    mkdirSync(join(out, 'figures'), { recursive: true });
    writeFileSync(join(out, 'figures', 'loss.png'), 'my plot');
    writeFileSync(join(out, 'metrics.jsonl'), 'my numbers\n');
    for (const extra of [[], ['--overwrite']]) {
      const r = await aekit(...TRAIN, '--out', out, ...extra);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('error [RunDirectoryNotEmpty]');
      expect(r.stderr).toContain('"figures", "metrics.jsonl"');
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(readdirSync(out).sort()).toEqual(['figures', 'metrics.jsonl']);
    expect(readFileSync(join(out, 'figures', 'loss.png'), 'utf8')).toBe('my plot');
  });

  it('--out under a file is a CannotWrite error, not a crash', async () => {
    writeFileSync(join(dir, 'a-file'), 'x');
    const r = await aekit(...TRAIN, '--out', join(dir, 'a-file', 'run'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error [CannotWrite]');
  });

  // Ten times, as a race may go either way: whichever process takes the lock first trains,
  // the other stops at once, and the run on disk is the winner's.
  it('of two concurrent runs on the same --out, exactly one succeeds and the other gets RunLocked', async () => {
    for (let trial = 0; trial < 10; trial++) {
      const out = join(dir, `race-${trial}`);
      const [a, b] = await Promise.all([
        aekit(...TRAIN, '--seed', '3', '--out', out),
        aekit(...TRAIN, '--seed', '4', '--out', out),
      ]);
      const results = [a, b];
      const won = results.filter((r) => r.code === 0);
      const lost = results.filter((r) => r.code !== 0);
      expect(won, `trial ${trial}: ${a.stderr}\n${b.stderr}`).toHaveLength(1);
      expect(lost[0]!.code).toBe(1);
      expect(lost[0]!.stderr).toContain('error [RunLocked]');
      expect(won[0]!.stdout).toContain('Run written');
      const winnerSeed = results[0]!.code === 0 ? 3 : 4;
      const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
      expect(manifest.training.seed).toBe(winnerSeed);
      expect(manifest.status).toBe('completed');
      expect(manifest.epochsCompleted).toBe(3);
      expect(existsSync(join(out, '.aekit.lock'))).toBe(false);
    }
  });
});
