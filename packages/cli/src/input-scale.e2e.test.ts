import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AekitError, isAekitError } from '@aekit/core/errors';
import { parseHashIndex } from '@aekit/core/hashing';
import { encodeNpy, loadDataset, readNpy, writeAtomic, writeDataFile } from '@aekit/core/node';
import { loadAutoencoder } from '@aekit/runtime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AekitResult, aekit, trainSmall } from './test-utils/aekit.js';

// Inputs are checked against the run's recorded normalisation: pixels in [0, 1] (the usual
// Python habit) given to an MNIST run, which divides raw 0..255 pixels by 255 itself, used to
// be divided again and encoded as near-blank images, with no warning.

const dir = mkdtempSync(join(tmpdir(), 'aekit-input-scale-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const path = (name: string) => join(dir, name);
const stacked = path('stacked');
const standard = path('standard');
const hashing = path('hashing');
const N = 8;

function expectUserError(r: AekitResult, code: string): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toContain(`error [${code}]`);
  expect(r.stderr).not.toContain('internal error');
}

function expectOk(r: AekitResult): void {
  expect(r.code, r.stderr).toBe(0);
}

/** `aekit encode MODEL --input INPUT --output OUTPUT --device cpu ...more`. */
const encode = (model: string, input: string, output: string, ...more: string[]) =>
  aekit(
    'encode',
    model,
    '--input',
    path(input),
    '--output',
    path(output),
    '--device',
    'cpu',
    ...more,
  );

const codingsOf = (name: string): Float32Array => readNpy(path(name)).data;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

beforeAll(async () => {
  const trained = await Promise.all([
    trainSmall('stacked', stacked, '--layers', '32,10'),
    trainSmall(
      'stacked',
      standard,
      ...['--layers', '32,10', '--normalize', 'standard', '--loss', 'mse'],
      ...['--output-activation', 'linear'],
    ),
    trainSmall('hashing', hashing, '--layers', '32', '--bits', '16'),
  ]);
  const exported = await Promise.all([stacked, standard, hashing].map((r) => aekit('export', r)));
  for (const r of [...trained, ...exported]) {
    if (r.code !== 0) throw new Error(`aekit exited ${r.code}:\n${r.stderr}`);
  }
  // Test digits as stored (0..255), as uint8 and float32; the same in [0, 1]; a dark copy.
  const raw = loadDataset({ source: 'mnist', split: 'test', limit: N, normalize: 'none' }).dataset
    .x;
  writeDataFile(path('raw.npy'), raw, [N, 28, 28]);
  writeAtomic(path('raw-u8.npy'), encodeNpy(Uint8Array.from(raw), [N, 28, 28]));
  writeDataFile(
    path('unit.npy'),
    raw.map((v) => v / 255),
    [N, 28, 28],
  );
  writeDataFile(
    path('unit.csv'),
    raw.map((v) => v / 255),
    [N, 784],
  );
  writeDataFile(
    path('one-unit.npy'),
    raw.slice(0, 784).map((v) => v / 255),
    [1, 28, 28],
  );
  writeDataFile(
    path('dark.npy'),
    raw.map((v) => Math.round((v * 40) / 255)),
    [N, 28, 28],
  );
});

describe('aekit encode / reconstruct compare the inputs with the recorded normalisation', () => {
  it('refuses [0, 1] floats for an MNIST run with InputScaleMismatch, saying what to pass', async () => {
    const [npy, csv, rec] = await Promise.all([
      encode(stacked, 'unit.npy', 'u-codings.npy'),
      encode(stacked, 'unit.csv', 'u-codings.csv'),
      aekit(
        ...['reconstruct', stacked, '--input', path('unit.npy')],
        ...['--output', path('u-rec.npy'), '--device', 'cpu'],
      ),
    ]);
    for (const r of [npy, csv, rec]) expectUserError(r, 'InputScaleMismatch');
    expect(npy.stderr).toContain(
      `The values of ${path('unit.npy')} lie in [0, 1], but the model (normalisation "unit") takes raw values in [0, 255] and normalises them itself: these look already normalised, and would be normalised twice.`,
    );
    expect(npy.stderr).toContain(
      'If the values are already normalised, pass --no-normalize (or --raw); otherwise give raw values in [0, 255] (8-bit pixels).',
    );
    // Refused before anything is written.
    for (const f of ['u-codings.npy', 'u-codings.csv', 'u-rec.npy']) {
      expect(existsSync(path(f))).toBe(false);
    }
  });

  it('encodes raw pixels (uint8, float32, a dark image), and [0, 1] with --no-normalize', async () => {
    const [u8, f32, dark, noNormalize, raw] = await Promise.all([
      encode(stacked, 'raw-u8.npy', 'c-u8.npy'),
      encode(stacked, 'raw.npy', 'c-f32.npy'),
      encode(stacked, 'dark.npy', 'c-dark.npy'),
      encode(stacked, 'unit.npy', 'c-nonorm.npy', '--no-normalize'),
      encode(stacked, 'unit.npy', 'c-raw.npy', '--raw'),
    ]);
    for (const r of [u8, f32, dark, noNormalize, raw]) expectOk(r);
    expect(Array.from(codingsOf('c-u8.npy'))).toEqual(Array.from(codingsOf('c-f32.npy')));
    // x * (1/255) (the CLI) and x / 255 (the file) may differ in the last float32 bit: codings
    // of order 1 then differ by ~1e-7, far below what a wrong scale does (up to 17 in the issue).
    const rawCodings = codingsOf('c-f32.npy');
    expect(maxAbsDiff(codingsOf('c-nonorm.npy'), rawCodings)).toBeLessThan(1e-5);
    expect(maxAbsDiff(codingsOf('c-raw.npy'), rawCodings)).toBeLessThan(1e-5);
  });

  it('refuses 0..255 pixels with --no-normalize, and checks nothing with --no-check-scale', async () => {
    const [rawAsNormalised, unchecked, rawUnchecked, decoded] = await Promise.all([
      encode(stacked, 'raw.npy', 'r-codings.npy', '--no-normalize'),
      encode(stacked, 'unit.npy', 'x-codings.npy', '--no-check-scale'),
      encode(stacked, 'raw.npy', 'y-codings.npy', '--no-normalize', '--no-check-scale'),
      // decode takes codings: no pixel scale to check.
      aekit(
        ...['decode', stacked, '--input', path('c-f32.npy'), '--output', path('d.npy')],
        ...['--device', 'cpu'],
      ),
    ]);
    expectUserError(rawAsNormalised, 'InputScaleMismatch');
    expect(rawAsNormalised.stderr).toContain(
      'lie in [0, 255], given as already normalised, but the model (normalisation "unit") takes normalised values in [0, 1]',
    );
    expect(rawAsNormalised.stderr).toContain('Leave out --no-normalize (or --raw)');
    expectOk(unchecked);
    // Unchecked means unchecked: the runtime underneath does not refuse them either.
    expectOk(rawUnchecked);
    expectOk(decoded);
    expect(await aekit('encode', '--help').then((r) => r.stdout)).toContain('--no-check-scale');
  });

  it("uses a standard run's recorded statistics", async () => {
    const [unit, raw] = await Promise.all([
      encode(standard, 'unit.npy', 's-unit.npy'),
      encode(standard, 'raw.npy', 's-raw.npy'),
    ]);
    expectUserError(unit, 'InputScaleMismatch');
    expect(unit.stderr).toMatch(
      /lie in \[0, 1\], but the model \(normalisation "standard"\) takes raw values in about \[-?\d/,
    );
    expectOk(raw);
  });
});

describe('aekit hash and search check the data and query files the same way', () => {
  it('hash refuses [0, 1] data, hashes raw data, and [0, 1] data with --raw or --no-normalize', async () => {
    const hash = (data: string, out: string, ...more: string[]) =>
      aekit('hash', hashing, '--data', path(data), '--out', path(out), '--device', 'cpu', ...more);
    const [unit, raw, asRaw, noNormalize, rawAsNormalised] = await Promise.all([
      hash('unit.npy', 'unit.aehash'),
      hash('raw.npy', 'raw.aehash'),
      hash('unit.npy', 'unit-raw.aehash', '--raw'),
      hash('unit.npy', 'unit-nonorm.aehash', '--no-normalize'),
      hash('raw.npy', 'raw-raw.aehash', '--raw'),
    ]);
    expectUserError(unit, 'InputScaleMismatch');
    expect(unit.stderr).toContain('pass --no-normalize (or --raw)');
    expect(existsSync(path('unit.aehash'))).toBe(false);
    expectUserError(rawAsNormalised, 'InputScaleMismatch');
    for (const r of [raw, asRaw, noNormalize]) expectOk(r);
    // The same digits, normalised by aekit or before: the same codes.
    const codes = (f: string) => Array.from(parseHashIndex(readFileSync(path(f))).codes.data);
    expect(codes('unit-raw.aehash')).toEqual(codes('raw.aehash'));
    expect(codes('unit-nonorm.aehash')).toEqual(codes('raw.aehash'));
  });

  it('search refuses query files on another scale than the index data, and takes the right one', async () => {
    const search = (index: string, query: string, ...more: string[]) =>
      aekit('search', path(index), '--query', path(query), '--k', '1', '--device', 'cpu', ...more);
    const [unit, raw, unchecked, rawIndexUnit, rawIndexRaw] = await Promise.all([
      search('raw.aehash', 'unit.npy'),
      search('raw.aehash', 'raw.npy'),
      search('raw.aehash', 'unit.npy', '--no-check-scale'),
      search('unit-raw.aehash', 'unit.npy'),
      search('unit-raw.aehash', 'raw.npy'),
    ]);
    expectUserError(unit, 'InputScaleMismatch');
    expect(unit.stderr).toContain(
      'Give query samples raw values, as the data of the index was before the model normalised it.',
    );
    expectUserError(rawIndexRaw, 'InputScaleMismatch');
    expect(rawIndexRaw.stderr).toContain(
      'Give query samples already normalised, as the index was built with --raw.',
    );
    for (const r of [raw, unchecked, rawIndexUnit]) expectOk(r);
    // Each raw digit finds itself: query i is item i at distance 0.
    expect(raw.stdout).toMatch(/item 0 .*distance 0/);
    expect(rawIndexUnit.stdout).toMatch(/item 0 .*distance 0/);
  });
});

describe('aekit interpolate checks its image files too', () => {
  it('refuses a [0, 1] image for an MNIST run; --no-check-scale takes it', async () => {
    const line = (out: string, ...more: string[]) =>
      aekit(
        ...['interpolate', stacked, '--from', path('one-unit.npy'), '--to', 'test:1'],
        ...['--steps', '3', '--out', path(out), '--device', 'cpu', ...more],
      );
    const [refused, unchecked] = await Promise.all([
      line('refused.npy'),
      line('unchecked.npy', '--no-check-scale'),
    ]);
    expectUserError(refused, 'InputScaleMismatch');
    expect(existsSync(path('refused.npy'))).toBe(false);
    expectOk(unchecked);
    expect(readNpy(path('unchecked.npy')).shape[0]).toBe(3);
  });
});

describe("the library's loadAutoencoder checks the inputs' scale too", () => {
  const raw = () =>
    loadDataset({ source: 'mnist', split: 'test', limit: N, normalize: 'none' }).dataset.x;

  it('refuses 0..255 pixels for an MNIST model, takes them divided by 255; checkScale: false skips it', async () => {
    const ae = await loadAutoencoder(stacked, { device: 'cpu' });
    const unchecked = await loadAutoencoder(stacked, { device: 'cpu', checkScale: false });
    try {
      const pixels = { data: raw(), shape: [N, 28, 28, 1] };
      for (const call of [() => ae.encode(pixels), () => ae.reconstruct(pixels)]) {
        const err = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isAekitError(err, 'InputScaleMismatch'), String(err)).toBe(true);
        expect((err as Error).message).toContain('lie in [0, 255], given as already normalised');
        expect((err as AekitError).hint).toContain('divide 0..255 pixels by 255');
      }
      const scaled = await ae.encode({ data: raw().map((v) => v / 255), shape: [N, 28, 28, 1] });
      // The CLI normalises the same file to the same codings.
      expect(maxAbsDiff(scaled.data, codingsOf('c-f32.npy'))).toBeLessThan(1e-5);
      expect((await unchecked.encode(pixels)).shape).toEqual([N, 10]);
    } finally {
      await ae.dispose();
      await unchecked.dispose();
    }
  });
});
