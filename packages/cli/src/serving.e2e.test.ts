/**
 * The serving side never gives a silent wrong answer: `aekit encode | decode | reconstruct |
 * hash` refuse files of another sample shape, models whose normalisation is unknown, damaged
 * hash indexes and outputs they cannot write, with a typed error and nothing written.
 */
import { execFile } from 'node:child_process';
import {
  chmodSync,
  cpSync,
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
import { join } from 'node:path';
import { applyNormalization, parseHashIndex } from '@aekit/core';
import { encodeCsv, loadDataset, readNpy, writeDataFile } from '@aekit/core/node';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AekitResult, aekit, BIN, trainSmall } from './test-utils/aekit.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-serving-e2e-'));
// Readable by everyone: one test runs aekit as another user (see `aekitAsOther`).
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = join(dir, 'stacked');
const hashRun = join(dir, 'hashing');
const N = 10;
const CODING = 10;
/** How MNIST was normalised for training (`unit`): what aekit.json and the manifest record. */
const UNIT = { kind: 'unit', scale: 1 / 255, offset: 0 } as const;
/** N MNIST test digits as stored: 0..255. */
let raw: Float32Array;
/** Their codings by the exported model, with its aekit.json. */
let codings: Float32Array;

const path = (name: string) => join(dir, name);

/** Runs aekit and expects it to fail as a user error (exit 1) with the aekit error `code`. */
function expectUserError(r: AekitResult, code: string): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toContain(`error [${code}]`);
  expect(r.stderr).not.toContain('internal error');
}

/** `aekit encode MODEL --input INPUT --output OUTPUT --device cpu ...more`. */
const encode = (model: string, input: string, output: string, ...more: string[]) =>
  aekit('encode', model, '--input', input, '--output', output, '--device', 'cpu', ...more);

beforeAll(async () => {
  const trained = await Promise.all([
    trainSmall('stacked', run, '--layers', `32,${CODING}`),
    trainSmall('hashing', hashRun, '--layers', '32', '--bits', '16'),
  ]);
  for (const t of trained) expect(t.code, t.stderr).toBe(0);
  for (const r of [run, hashRun]) {
    const exported = await aekit('export', r);
    expect(exported.code, exported.stderr).toBe(0);
  }
  raw = loadDataset({ source: 'mnist', split: 'test', limit: N, normalize: 'none' }).dataset.x;
  writeDataFile(path('digits.npy'), raw, [N, 28, 28]);
  const reference = await encode(run, path('digits.npy'), path('codings.npy'));
  expect(reference.code, reference.stderr).toBe(0);
  codings = readNpy(path('codings.npy')).data;
});

describe('files must hold samples of the model shape, not just as many values', () => {
  it('encodes [N, 28, 28], [N, 28, 28, 1], [N, 784] CSV rows and one PNG alike', async () => {
    writeDataFile(path('digits4.npy'), raw, [N, 28, 28, 1]);
    writeFileSync(path('digits.csv'), encodeCsv(raw, 784));
    const png = new PNG({ width: 28, height: 28 });
    for (let i = 0; i < 784; i++) {
      png.data.set([raw[i]!, raw[i]!, raw[i]!, 255], 4 * i);
    }
    writeFileSync(path('digit.png'), PNG.sync.write(png));
    const runs = await Promise.all(
      ['digits4.npy', 'digits.csv', 'digit.png'].map((f) => encode(run, path(f), path(`${f}.npy`))),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    // The same pixels through the same graph: the same float32 codings, bit for bit.
    expect(Array.from(readNpy(path('digits4.npy.npy')).data)).toEqual(Array.from(codings));
    expect(Array.from(readNpy(path('digits.csv.npy')).data)).toEqual(Array.from(codings));
    const one = readNpy(path('digit.png.npy'));
    expect(one.shape).toEqual([1, CODING]);
    expect(Array.from(one.data)).toEqual(Array.from(codings.subarray(0, CODING)));
  });

  it('refuses a transposed (784, N) file and (N, 15) codings, naming both shapes', async () => {
    const transposed = new Float32Array(784 * N);
    for (let i = 0; i < N; i++)
      for (let j = 0; j < 784; j++) transposed[j * N + i] = raw[i * 784 + j]!;
    writeDataFile(path('transposed.npy'), transposed, [784, N]);
    writeDataFile(path('wide-codings.npy'), new Float32Array(N * 15), [N, 15]);
    const [enc, rec, hash, dec] = await Promise.all([
      encode(run, path('transposed.npy'), path('t-codings.npy')),
      aekit('reconstruct', run, '--input', path('transposed.npy'), '--output', path('t-rec.npy')),
      aekit('hash', hashRun, '--data', path('transposed.npy'), '--out', path('t.aehash')),
      aekit('decode', run, '--input', path('wide-codings.npy'), '--output', path('w.npy')),
    ]);
    for (const r of [enc, rec, hash, dec]) expectUserError(r, 'InvalidInput');
    expect(enc.stderr).toContain(
      `has shape [784, ${N}]: 784 sample(s) of shape [${N}] (${N} values each), but the model's inputs have shape [28, 28, 1] (784 values). Give a file of shape [N, 28, 28, 1] or [N, 28, 28] or [N, 784]`,
    );
    expect(rec.stderr).toContain(`has shape [784, ${N}]`);
    expect(hash.stderr).toContain(`784 sample(s) of shape [${N}]`);
    expect(dec.stderr).toContain(
      `has shape [${N}, 15]: ${N} sample(s) of shape [15] (15 values each), but the model's codings have shape [${CODING}]`,
    );
    for (const f of ['t-codings.npy', 't-rec.npy', 't.aehash', 'w.npy']) {
      expect(existsSync(path(f)), f).toBe(false);
    }
  });
});

describe('the normalisation comes from aekit.json, else the run manifest, else --raw', () => {
  /** A copy of `source` whose onnx/ has no aekit.json. */
  function withoutMetadata(source: string, name: string): string {
    const copy = path(name);
    cpSync(source, copy, { recursive: true });
    rmSync(join(copy, 'onnx', 'aekit.json'));
    return copy;
  }
  /** A folder of the ONNX files of `source` alone: no aekit.json, no run around it. */
  function bare(source: string, name: string): string {
    const folder = path(name);
    mkdirSync(folder);
    for (const f of ['encoder.onnx', 'decoder.onnx', 'autoencoder.onnx']) {
      cpSync(join(source, 'onnx', f), join(folder, f));
    }
    return folder;
  }

  it("takes it from the run's manifest.json when onnx/ has no aekit.json, and says so", async () => {
    const copy = withoutMetadata(run, 'no-metadata');
    const r = await encode(copy, path('digits.npy'), path('m-codings.npy'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/normalisation: /g)).toHaveLength(1);
    expect(r.stderr).toContain(`normalisation: unit, from ${join(copy, 'manifest.json')}`);
    expect(Array.from(readNpy(path('m-codings.npy')).data)).toEqual(Array.from(codings));
  });

  it('refuses a bare folder with NormalizationUnknown, unless --raw (or --no-normalize)', async () => {
    const folder = bare(run, 'bare');
    const normalised = applyNormalization(raw.slice(), 784, UNIT);
    writeDataFile(path('normalised.npy'), normalised, [N, 784]);
    const [refused, rawRun, noNormalize, decoded] = await Promise.all([
      encode(folder, path('digits.npy'), path('b-codings.npy')),
      encode(folder, path('normalised.npy'), path('b-raw.npy'), '--raw'),
      encode(folder, path('normalised.npy'), path('b-nonorm.npy'), '--no-normalize'),
      aekit(
        ...['decode', folder, '--input', path('codings.npy')],
        '--output',
        path('b-dec.npy'),
        '--raw',
      ),
    ]);
    expectUserError(refused, 'NormalizationUnknown');
    expect(refused.stderr).toContain('pass --raw');
    expect(existsSync(path('b-codings.npy'))).toBe(false);
    for (const r of [rawRun, noNormalize, decoded]) expect(r.code, r.stderr).toBe(0);
    expect(Array.from(readNpy(path('b-raw.npy')).data)).toEqual(Array.from(codings));
    expect(Array.from(readNpy(path('b-nonorm.npy')).data)).toEqual(Array.from(codings));
  });

  it('aekit hash --raw hashes the data as it is, and aekit search then hashes queries so', async () => {
    // A hashing model needs its aekit.json (it declares the capability), so only --raw here.
    // MNIST as stored (0..255) given as normalised contradicts the model's [0, 1]: hashing it
    // anyway takes --no-check-scale, which the index records for its searches.
    const data = ['--data', 'mnist', '--split', 'test', '--limit', '50', '--device', 'cpu'];
    const [normalised, rawRun] = await Promise.all([
      aekit('hash', hashRun, ...data, '--out', path('a.aehash')),
      aekit('hash', hashRun, ...data, '--out', path('d.aehash'), '--raw', '--no-check-scale'),
    ]);
    for (const r of [normalised, rawRun]) expect(r.code, r.stderr).toBe(0);
    const a = parseHashIndex(readFileSync(path('a.aehash')));
    const d = parseHashIndex(readFileSync(path('d.aehash')));
    expect(a.meta.raw).toBeUndefined();
    expect(d.meta.raw).toBe(true);
    // MNIST as stored (0..255), hashed as it is: other codes than its [0, 1] normalisation's.
    expect(Array.from(d.codes.data)).not.toEqual(Array.from(a.codes.data));
    // A query file of the first raw digit finds item 0 at distance 0 in both indexes.
    writeDataFile(path('query.npy'), raw.subarray(0, 784), [1, 784]);
    for (const index of ['a.aehash', 'd.aehash']) {
      const r = await aekit('search', path(index), '--query', path('query.npy'), '--k', '1');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/item 0 .*distance 0/);
    }
  });
});

describe('aekit hash writes aekit-hash/2, whose checksum catches a flipped byte', () => {
  it('refuses an index with one label byte changed', async () => {
    const index = path('labels.aehash');
    const r = await aekit(
      ...['hash', hashRun, '--data', 'mnist', '--split', 'test', '--limit', '20'],
      ...['--out', index, '--device', 'cpu'],
    );
    expect(r.code, r.stderr).toBe(0);
    const bytes = readFileSync(index);
    expect(bytes.subarray(0, 10).toString()).toBe('AEKITHASH2');
    const search = ['--query', 'item:0', '--k', '3', '--json'];
    expect((await aekit('search', index, ...search)).code).toBe(0);
    bytes[bytes.length - 8]! ^= 0x01; // the low byte of the last label
    writeFileSync(index, bytes);
    const damaged = await aekit('search', index, ...search);
    expectUserError(damaged, 'InvalidHashIndex');
    expect(damaged.stderr).toContain('its checksum does not match its content');
  });
});

describe('outputs that cannot be written fail before the model runs, with CannotWrite', () => {
  /** Everything in `folder`, to see that nothing (not even a temporary file) was left. */
  const listing = (folder: string) => readdirSync(folder).sort();

  it('refuses a folder, a path ending in a separator, and a path under a file', async () => {
    mkdirSync(path('out-folder'));
    writeFileSync(path('file.npy'), 'not a folder');
    const before = listing(dir);
    const cases = [
      path('out-folder'),
      `${path('out-folder')}/`,
      `${path('no-such-folder')}/`,
      `${path('file.npy')}/`,
      join(path('file.npy'), 'codings.npy'),
      join(path('file.npy'), 'deeper', 'codings.npy'),
    ];
    const results = await Promise.all(cases.map((out) => encode(run, path('digits.npy'), out)));
    for (const r of results) expectUserError(r, 'CannotWrite');
    expect(results[0]!.stderr).toContain('it is an existing folder; give a file name.');
    expect(results[1]!.stderr).toContain('it names a folder, not a file');
    for (const r of results.slice(4)) {
      expect(r.stderr).toContain('a part of the path is a file, not a folder.');
    }
    expect(readFileSync(path('file.npy'), 'utf8')).toBe('not a folder');
    expect(listing(dir)).toEqual(before);
    expect(listing(path('out-folder'))).toEqual([]);
  });

  it('aekit hash --out in a folder it may not write to', async () => {
    const readOnly = path('read-only');
    mkdirSync(readOnly);
    chmodSync(readOnly, 0o555);
    const r = await aekitAsOther(
      ...['hash', hashRun, '--data', 'mnist', '--limit', '20', '--device', 'cpu'],
      ...['--out', join(readOnly, 'index.aehash')],
    );
    expectUserError(r, 'CannotWrite');
    expect(r.stderr).toContain('permission denied');
    expect(listing(readOnly)).toEqual([]);
    expect(statSync(readOnly).mode & 0o777).toBe(0o555);
  });
});

/**
 * Runs aekit as a user for whom a folder of mode 0555 is read-only: this one, or `nobody`
 * when the tests run as root (whom permissions do not stop).
 */
function aekitAsOther(...args: string[]): Promise<AekitResult> {
  const asRoot = process.getuid?.() === 0;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { maxBuffer: 1 << 24, ...(asRoot ? { uid: 65534, gid: 65534 } : {}) },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}
