import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EpochMetrics, RunManifest } from '../manifest.js';
import { expectCode } from '../test-utils/index.js';
import { RunDirectory, writeAtomic } from './run-dir.js';

const manifest = (): RunManifest => ({
  format: 'aekit-run/1',
  variant: 'stacked',
  options: { hiddenUnits: [100, 30], activation: 'selu' },
  training: {
    epochs: 5,
    batchSize: 32,
    optimizer: 'adam',
    learningRate: 0.001,
    seed: 42,
    backend: 'cpu',
    earlyStoppingPatience: 3,
  },
  inputShape: [28, 28, 1],
  codingShape: [30],
  normalization: { kind: 'unit', scale: 1 / 255, offset: 0 },
  data: {
    source: 'mnist',
    limit: 1000,
    validationSplit: 0.1,
    normalize: 'unit',
    fingerprint: 'ab'.repeat(32),
    trainCount: 900,
    validationCount: 100,
  },
  networks: { encoder: 'model/encoder.json', decoder: 'model/decoder.json' },
  status: 'completed',
  epochsCompleted: 5,
  metrics: { valLoss: 0.0912 },
  versions: { '@aekit/core': '0.1.0' },
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:05:00.000Z',
});

/** Every file under `dir`, relative, sorted. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'aekit-run-dir-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('RunDirectory', () => {
  it('resolves paths inside the run', () => {
    const run = new RunDirectory(join(tmp, 'a', '..', 'run'));
    expect(run.root).toBe(join(tmp, 'run'));
    expect(run.manifestPath).toBe(join(tmp, 'run', 'manifest.json'));
    expect(run.metricsPath).toBe(join(tmp, 'run', 'metrics.jsonl'));
    expect(run.checkpointPath).toBe(join(tmp, 'run', 'checkpoints', 'last.ckpt'));
    expect(run.path('model', 'encoder.json')).toBe(join(tmp, 'run', 'model', 'encoder.json'));
  });

  it('create() makes model/, checkpoints/ and figures/', () => {
    const run = new RunDirectory(join(tmp, 'nested', 'run'));
    expect(run.exists()).toBe(false);
    run.create();
    for (const dir of ['model', 'checkpoints', 'figures']) {
      expect(statSync(run.path(dir)).isDirectory()).toBe(true);
    }
    expect(readdirSync(run.root).sort()).toEqual(['checkpoints', 'figures', 'model']);
    expect(run.exists()).toBe(false); // no manifest yet
  });

  it('create() over an existing run fails with RunDirectoryExists', () => {
    const run = new RunDirectory(join(tmp, 'run'));
    run.create();
    run.writeManifest(manifest());
    expect(run.exists()).toBe(true);
    const err = expectCode(() => new RunDirectory(run.root).create(), 'RunDirectoryExists');
    expect(err.message).toContain(run.root);
    expect(err.hint).toContain('--overwrite');
    expect(existsSync(run.manifestPath)).toBe(true);
  });

  it('create(true) replaces an existing run, keeping unrelated files', () => {
    const run = new RunDirectory(join(tmp, 'run'));
    run.create();
    run.writeManifest(manifest());
    run.writeMetrics([{ epoch: 1, loss: 1, seconds: 1, samplesPerSecond: 1 }]);
    run.writeFile('model/encoder.json', '{}');
    run.writeFile('checkpoints/last.ckpt', new Uint8Array([1, 2, 3]));
    run.writeFile('figures/loss.svg', '<svg/>');
    writeFileSync(run.path('notes.txt'), 'mine');
    run.create(true);
    expect(files(run.root)).toEqual(['notes.txt']);
    expect(readdirSync(run.root).sort()).toEqual(['checkpoints', 'figures', 'model', 'notes.txt']);
    expect(run.exists()).toBe(false);
  });

  it('create() in a folder without a run keeps what is there', () => {
    mkdirSync(join(tmp, 'run'));
    writeFileSync(join(tmp, 'run', 'data.csv'), '1,2\n');
    new RunDirectory(join(tmp, 'run')).create();
    expect(files(join(tmp, 'run'))).toEqual(['data.csv']);
  });

  it('writeManifest / readManifest round trip', () => {
    const run = new RunDirectory(join(tmp, 'run'));
    run.create();
    const m = manifest();
    run.writeManifest(m);
    expect(run.readManifest()).toEqual(m);
    const text = readFileSync(run.manifestPath, 'utf8');
    expect(JSON.parse(text)).toEqual(m);
    expect(text.endsWith('}\n')).toBe(true);
    // A fresh object reads the same file.
    expect(new RunDirectory(run.root).readManifest().data.fingerprint).toBe('ab'.repeat(32));
  });

  it('writeManifest refuses an invalid manifest and writes nothing', () => {
    const run = new RunDirectory(join(tmp, 'run'));
    run.create();
    const bad = { ...manifest(), status: 'done' } as unknown as RunManifest;
    expect(() => run.writeManifest(bad)).toThrow(/status/);
    const noEpochs = manifest();
    noEpochs.training.epochs = 0;
    expect(() => run.writeManifest(noEpochs)).toThrow();
    expect(existsSync(run.manifestPath)).toBe(false);
  });

  it('readManifest fails with InvalidManifest on corrupt JSON', () => {
    const run = new RunDirectory(join(tmp, 'run'));
    run.create();
    writeFileSync(run.manifestPath, '{"format": "aekit-run/1", ');
    const err = expectCode(() => run.readManifest(), 'InvalidManifest');
    expect(err.message).toContain(run.manifestPath);
  });

  it('readManifest fails with InvalidManifest naming the wrong fields', () => {
    const run = new RunDirectory(join(tmp, 'run'));
    run.create();
    const m = { ...manifest(), format: 'aekit-run/2', inputShape: [28, -1] };
    writeFileSync(run.manifestPath, JSON.stringify(m));
    const err = expectCode(() => run.readManifest(), 'InvalidManifest');
    expect(err.message).toContain('  format: ');
    // Issues inside lists name the 1-based item.
    expect(err.message).toContain('  inputShape (item 2): ');
    expect(err.message).not.toContain('variant');
  });

  it('readManifest fails with RunNotFound when there is no manifest', () => {
    const run = new RunDirectory(join(tmp, 'empty'));
    const err = expectCode(() => run.readManifest(), 'RunNotFound');
    expect(err.message).toContain('manifest.json is missing');
  });

  it('writeMetrics / readMetrics round trip, extra numeric metrics included', () => {
    const run = new RunDirectory(join(tmp, 'run'));
    run.create();
    expect(run.readMetrics()).toEqual([]);
    const lines: EpochMetrics[] = [
      { epoch: 1, loss: 0.25, valLoss: 0.3, seconds: 1.5, samplesPerSecond: 640, valMse: 0.02 },
      { epoch: 2, loss: 0.125, seconds: 1.25, samplesPerSecond: 700 },
    ];
    run.writeMetrics(lines);
    expect(run.readMetrics()).toEqual(lines);
    expect(readFileSync(run.metricsPath, 'utf8').split('\n')).toHaveLength(3); // 2 lines + ''
    // Rewriting replaces the file whole.
    run.writeMetrics(lines.slice(0, 1));
    expect(run.readMetrics()).toEqual(lines.slice(0, 1));
  });

  it('readMetrics refuses a line that does not match the schema', () => {
    const run = new RunDirectory(join(tmp, 'run'));
    run.create();
    writeFileSync(
      run.metricsPath,
      '{"epoch": 0, "loss": 1, "seconds": 1, "samplesPerSecond": 1}\n',
    );
    expect(() => run.readMetrics()).toThrow(/epoch/);
  });

  it('writeFile / readFile, and RunNotFound for a missing file', () => {
    const run = new RunDirectory(join(tmp, 'run'));
    run.writeFile('model/weights.bin', Uint8Array.from([9, 8, 7]));
    expect(Array.from(run.readFile('model/weights.bin'))).toEqual([9, 8, 7]);
    const err = expectCode(() => run.readFile('model/missing.bin'), 'RunNotFound');
    expect(err.message).toContain('model/missing.bin is missing');
  });
});

describe('writeAtomic', () => {
  it('writes strings and bytes, creating folders, leaving no temporary files', () => {
    const dir = join(tmp, 'a', 'b');
    writeAtomic(join(dir, 'text.txt'), 'hello\n');
    writeAtomic(join(dir, 'text.txt'), 'replaced\n');
    // Only the bytes of the view are written, not its whole buffer.
    const buffer = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    writeAtomic(join(dir, 'bytes.bin'), buffer.subarray(2, 5));
    expect(readFileSync(join(dir, 'text.txt'), 'utf8')).toBe('replaced\n');
    expect(Array.from(readFileSync(join(dir, 'bytes.bin')))).toEqual([2, 3, 4]);
    expect(readdirSync(dir).sort()).toEqual(['bytes.bin', 'text.txt']);
  });

  it('leaves only the run files behind after a whole run is written', () => {
    const run = new RunDirectory(join(tmp, 'run'));
    run.create();
    run.writeManifest(manifest());
    run.writeManifest({ ...manifest(), status: 'failed' });
    run.writeMetrics([{ epoch: 1, loss: 1, seconds: 1, samplesPerSecond: 1 }]);
    run.writeFile('checkpoints/last.ckpt', new Uint8Array(1000));
    expect(files(run.root)).toEqual(['checkpoints/last.ckpt', 'manifest.json', 'metrics.jsonl']);
    expect(run.readManifest().status).toBe('failed');
  });
});
