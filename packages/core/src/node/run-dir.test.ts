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
import { hostname, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EpochMetrics, RunManifest } from '../manifest.js';
import { expectCode } from '../test-utils/index.js';
import { RUN_LOCK, RunDirectory, writeAtomic } from './run-dir.js';

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

  it('create(true) removes only the files aekit wrote, never the ones beside them', () => {
    const run = new RunDirectory(join(tmp, 'run'));
    run.create();
    run.writeMetrics([{ epoch: 1, loss: 1, seconds: 1, samplesPerSecond: 1 }]);
    run.writeFile('model/encoder/weights.bin', new Uint8Array([1, 2, 3]));
    run.writeFile('checkpoints/last.ckpt', new Uint8Array([1, 2, 3]));
    run.writeFile('figures/loss.png', 'png');
    run.writeManifest(manifest());
    // A user's notes, in the run's root and inside its model folder.
    writeFileSync(run.path('notes.txt'), 'mine');
    writeFileSync(run.path('model', 'notes.txt'), 'mine too');
    // A temporary file of an atomic write that a killed process left.
    writeFileSync(run.path('checkpoints', 'last.ckpt.123456789'), 'half');
    new RunDirectory(run.root).create(true);
    expect(files(run.root)).toEqual(['model/notes.txt', 'notes.txt']);
    expect(readFileSync(run.path('model', 'notes.txt'), 'utf8')).toBe('mine too');
    expect(run.exists()).toBe(false);
  });

  it('create() refuses a folder of other files, and touches none of them', () => {
    mkdirSync(join(tmp, 'run', 'figures'), { recursive: true });
    writeFileSync(join(tmp, 'run', 'data.csv'), '1,2\n');
    writeFileSync(join(tmp, 'run', 'figures', 'loss.png'), 'my own plot');
    for (const overwrite of [false, true]) {
      const err = expectCode(
        () => new RunDirectory(join(tmp, 'run')).create(overwrite),
        'RunDirectoryNotEmpty',
      );
      expect(err.message).toContain('"data.csv", "figures"');
    }
    expect(files(join(tmp, 'run'))).toEqual(['data.csv', 'figures/loss.png']);
    expect(readFileSync(join(tmp, 'run', 'figures', 'loss.png'), 'utf8')).toBe('my own plot');
  });

  it('create(true) refuses a folder whose manifest.json is not an aekit run', () => {
    mkdirSync(join(tmp, 'run', 'model'), { recursive: true });
    writeFileSync(join(tmp, 'run', 'manifest.json'), '{"mine":1}');
    writeFileSync(join(tmp, 'run', 'model', 'notes.txt'), 'mine');
    expectCode(() => new RunDirectory(join(tmp, 'run')).create(true), 'RunDirectoryNotEmpty');
    expect(files(join(tmp, 'run'))).toEqual(['manifest.json', 'model/notes.txt']);
  });

  it('create() in an empty folder, or one holding only its lock, is fine', () => {
    mkdirSync(join(tmp, 'run'));
    const run = new RunDirectory(join(tmp, 'run'));
    const release = run.lock();
    run.create();
    release();
    expect(readdirSync(run.root).sort()).toEqual(['checkpoints', 'figures', 'model']);
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

describe('RunDirectory.lock', () => {
  it('gives a second writer RunLocked naming the holder, until the first releases it', () => {
    const run = new RunDirectory(join(tmp, 'run'));
    const release = run.lock();
    const lock = JSON.parse(readFileSync(run.path(RUN_LOCK), 'utf8'));
    expect(lock).toMatchObject({ pid: process.pid, host: hostname() });
    const err = expectCode(() => new RunDirectory(run.root).lock(), 'RunLocked');
    expect(err.message).toContain(`pid ${process.pid} on ${hostname()}`);
    expect(err.hint).toContain('.aekit.lock');
    release();
    // The folder the lock made is gone again with it: nothing was written.
    expect(existsSync(run.root)).toBe(false);
    new RunDirectory(run.root).lock()();
  });

  it('takes over the stale lock of a process that is gone, not one on another host', () => {
    const run = new RunDirectory(join(tmp, 'run'));
    mkdirSync(run.root);
    // A pid above the kernel's limit (4194304) never runs.
    const gone = { pid: 4_194_305, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z' };
    writeFileSync(run.path(RUN_LOCK), JSON.stringify(gone));
    const release = run.lock();
    expect(JSON.parse(readFileSync(run.path(RUN_LOCK), 'utf8')).pid).toBe(process.pid);
    release();
    expect(existsSync(run.path(RUN_LOCK))).toBe(false);
    expect(existsSync(run.root)).toBe(true); // it was there before

    writeFileSync(run.path(RUN_LOCK), JSON.stringify({ ...gone, host: 'elsewhere' }));
    const err = expectCode(() => run.lock(), 'RunLocked');
    expect(err.message).toContain('on elsewhere');
  });

  it('fails with CannotWrite where the folder cannot be made', () => {
    writeFileSync(join(tmp, 'file'), 'x');
    const err = expectCode(() => new RunDirectory(join(tmp, 'file', 'run')).lock(), 'CannotWrite');
    expect(err.message).toContain(join(tmp, 'file', 'run'));
    expectCode(() => new RunDirectory(join(tmp, 'file')).lock(), 'CannotWrite');
  });
});

describe('RunDirectory integrity', () => {
  it('lists each file written with its sha256, and readFile refuses one changed since', () => {
    const run = new RunDirectory(join(tmp, 'run'));
    run.create();
    run.writeFile('model/encoder/weights.bin', Uint8Array.from([1, 2, 3, 4]));
    run.writeManifest(manifest());
    const listed = run.readManifest().files!;
    expect(listed['model/encoder/weights.bin']).toEqual({
      sha256: '9f64a747e1b97f131fabb6b447296c9b6f0201e79fb3c5356e6c77e89b6a806a',
      bytes: 4,
    });
    const fresh = new RunDirectory(run.root);
    fresh.readManifest();
    expect(Array.from(fresh.readFile('model/encoder/weights.bin'))).toEqual([1, 2, 3, 4]);
    writeFileSync(run.path('model/encoder/weights.bin'), Uint8Array.from([1, 2, 3, 5]));
    let err = expectCode(() => fresh.readFile('model/encoder/weights.bin'), 'CorruptRunFile');
    expect(err.message).toContain('weights.bin');
    expect(err.message).toContain('sha256');
    writeFileSync(run.path('model/encoder/weights.bin'), Uint8Array.from([1, 2]));
    err = expectCode(() => fresh.readFile('model/encoder/weights.bin'), 'CorruptRunFile');
    expect(err.message).toContain('2 bytes; the manifest records 4');
    // A file that checks itself can be read without the manifest's record.
    expect(fresh.readFile('model/encoder/weights.bin', { verify: false })).toHaveLength(2);
  });

  it('removeLeftovers deletes the temporary files of atomic writes beside the run files only', () => {
    const run = new RunDirectory(join(tmp, 'run'));
    run.create();
    run.writeFile('model/encoder/weights.bin', Uint8Array.from([1]));
    run.writeManifest(manifest());
    writeFileSync(run.path('model/encoder/weights.bin.2214408281'), 'half');
    writeFileSync(run.path('manifest.json.77'), 'half');
    writeFileSync(run.path('model/encoder/photo.2024'), 'mine');
    expect(new RunDirectory(run.root).removeLeftovers().sort()).toEqual([
      'manifest.json.77',
      'model/encoder/weights.bin.2214408281',
    ]);
    expect(files(run.root)).toEqual([
      'manifest.json',
      'model/encoder/photo.2024',
      'model/encoder/weights.bin',
    ]);
  });
});

describe('writeAtomic', () => {
  it('fails with CannotWrite on a folder or under a file, leaving nothing', () => {
    mkdirSync(join(tmp, 'out.npy'));
    let err = expectCode(() => writeAtomic(join(tmp, 'out.npy'), 'x'), 'CannotWrite');
    expect(err.message).toContain('existing folder');
    writeFileSync(join(tmp, 'file'), 'x');
    err = expectCode(() => writeAtomic(join(tmp, 'file', 'out.npy'), 'x'), 'CannotWrite');
    expect(err.message).toContain(join(tmp, 'file', 'out.npy'));
    expect(readdirSync(tmp).sort()).toEqual(['file', 'out.npy']);
    expect(readdirSync(join(tmp, 'out.npy'))).toEqual([]);
  });

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
