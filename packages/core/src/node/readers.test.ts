import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCode } from '../test-utils/index.js';
import { readCsv, readDataFile, readIdx, readNpy } from './readers.js';

/** Fixtures written by packages/core/test/make-fixtures.py, with the values it wrote. */
const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const fixture = (name: string) => join(FIXTURES, name);

interface Expected {
  shape: number[];
  values: number[];
  header?: string[];
}
const EXPECTED = JSON.parse(readFileSync(fixture('expected.json'), 'utf8')) as Record<
  'images' | 'labels' | 'floats' | 'f32' | 'u8' | 'f64' | 'i8' | 'table',
  Expected
>;

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'aekit-readers-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});
/** Writes `data` to a fresh file in the temporary folder and returns its path. */
const temp = (name: string, data: string | Uint8Array) => {
  const path = join(tmp, name);
  writeFileSync(path, data);
  return path;
};

describe('readIdx', () => {
  it('reads uint8 images', () => {
    const raw = readIdx(fixture('images-idx3-ubyte'));
    expect(raw.shape).toEqual([5, 4, 3]);
    expect(raw.integer).toBe(true);
    expect(raw.data).toBeInstanceOf(Float32Array);
    expect(Array.from(raw.data)).toEqual(EXPECTED.images.values);
  });

  it('reads the same images gzipped', () => {
    const raw = readIdx(fixture('images-idx3-ubyte.gz'));
    expect(raw.shape).toEqual(EXPECTED.images.shape);
    expect(Array.from(raw.data)).toEqual(EXPECTED.images.values);
  });

  it('reads labels', () => {
    const raw = readIdx(fixture('labels-idx1-ubyte'));
    expect(raw.shape).toEqual([5]);
    expect(Array.from(raw.data)).toEqual([3, 1, 4, 1, 5]);
  });

  it('reads big-endian float32 values', () => {
    const raw = readIdx(fixture('floats.idx'));
    expect(raw.shape).toEqual([2, 3]);
    expect(raw.integer).toBe(false);
    // Multiples of 0.75 are exact in float32.
    expect(Array.from(raw.data)).toEqual(EXPECTED.floats.values);
    expect(Array.from(raw.data)).toEqual([-1.875, -1.125, -0.375, 0.375, 1.125, 1.875]);
  });

  it('fails on a truncated file, saying how much is missing', () => {
    const err = expectCode(() => readIdx(fixture('truncated-idx3-ubyte')), 'InvalidDataFile');
    expect(err.message).toContain('truncated-idx3-ubyte');
    expect(err.message).toContain('expected 60 values');
    expect(err.message).toContain('found 53 bytes');
  });

  it('fails on a truncated header, a bad magic number and an unknown type', () => {
    expect(
      expectCode(
        () => readIdx(temp('header.idx', Uint8Array.from([0, 0, 8, 3, 0, 0]))),
        'InvalidDataFile',
      ).message,
    ).toContain('truncated IDX header');
    expect(
      expectCode(() => readIdx(fixture('with-header.csv')), 'InvalidDataFile').message,
    ).toContain('bad magic number');
    expect(
      expectCode(
        () => readIdx(temp('type.idx', Uint8Array.from([0, 0, 0x42, 1, 0, 0, 0, 0]))),
        'InvalidDataFile',
      ).message,
    ).toContain('0x42');
  });

  it('fails on corrupt gzip data and on a missing file', () => {
    const gz = readFileSync(fixture('images-idx3-ubyte.gz'));
    const broken = temp('broken.idx.gz', gz.subarray(0, 30));
    expect(expectCode(() => readIdx(broken), 'InvalidDataFile').message).toContain('gzip');
    const missing = join(tmp, 'missing-idx3-ubyte');
    expect(expectCode(() => readIdx(missing), 'InvalidDataFile').message).toContain(missing);
  });
});

describe('readNpy', () => {
  it('reads float32 2-D', () => {
    const raw = readNpy(fixture('f32-2d.npy'));
    expect(raw.shape).toEqual([4, 3]);
    expect(raw.integer).toBe(false);
    // Multiples of 1/8 are exact in float32.
    expect(Array.from(raw.data)).toEqual(EXPECTED.f32.values);
    expect(raw.data[11]).toBe(11 / 8 - 0.5);
  });

  it('reads uint8 3-D', () => {
    const raw = readNpy(fixture('u8-3d.npy'));
    expect(raw.shape).toEqual([2, 3, 2]);
    expect(raw.integer).toBe(true);
    expect(Array.from(raw.data)).toEqual(EXPECTED.u8.values);
  });

  it('reads float64, rounded to float32', () => {
    const raw = readNpy(fixture('f64-1d.npy'));
    expect(raw.shape).toEqual([5]);
    expect(raw.integer).toBe(false);
    expect(Array.from(raw.data)).toEqual(EXPECTED.f64.values);
    expect(raw.data[3]).toBe(12345.5);
  });

  it('reads int64', () => {
    const raw = readNpy(fixture('i8-2d.npy'));
    expect(raw.shape).toEqual([2, 2]);
    expect(raw.integer).toBe(true);
    expect(Array.from(raw.data)).toEqual([-3, 0, 7, 2 ** 40]);
  });

  it('reads format version 2 headers', () => {
    const raw = readNpy(fixture('f32-v2.npy'));
    expect(raw.shape).toEqual([4, 3]);
    expect(Array.from(raw.data)).toEqual(EXPECTED.f32.values);
  });

  it('reads a gzipped NPY file', () => {
    const path = temp('f32.npy.gz', gzipSync(readFileSync(fixture('f32-2d.npy'))));
    expect(Array.from(readNpy(path).data)).toEqual(EXPECTED.f32.values);
  });

  it('refuses Fortran-order arrays with InvalidDataFile', () => {
    const err = expectCode(() => readNpy(fixture('fortran.npy')), 'InvalidDataFile');
    expect(err.message).toContain('Fortran');
    expect(err.message).toContain('fortran.npy');
  });

  it('refuses big-endian data, naming the dtype', () => {
    const err = expectCode(() => readNpy(fixture('f32-big-endian.npy')), 'InvalidDataFile');
    expect(err.message).toContain('>f4');
  });

  it('fails on a file that is not NPY and on missing values', () => {
    expect(
      expectCode(() => readNpy(fixture('no-header.csv')), 'InvalidDataFile').message,
    ).toContain('bad magic string');
    const bytes = readFileSync(fixture('f32-2d.npy'));
    const short = temp('short.npy', bytes.subarray(0, bytes.length - 4));
    expect(expectCode(() => readNpy(short), 'InvalidDataFile').message).toContain(
      'expected 12 values',
    );
  });
});

describe('readCsv', () => {
  it('reads a file with a header', () => {
    const raw = readCsv(fixture('with-header.csv'));
    expect(raw.header).toEqual(['x', 'y', 'const']);
    expect(raw.shape).toEqual([6, 3]);
    expect(Array.from(raw.data)).toEqual(EXPECTED.table.values);
    expect(raw.integer).toBe(false);
  });

  it('reads a file without a header', () => {
    const raw = readCsv(fixture('no-header.csv'));
    expect(raw.header).toBeUndefined();
    expect(raw.shape).toEqual([6, 3]);
    expect(Array.from(raw.data)).toEqual(EXPECTED.table.values);
  });

  it('marks all-integer data as integer', () => {
    const raw = readCsv(temp('ints.csv', '1,2\n3,255\n'));
    expect(raw.integer).toBe(true);
    expect(Array.from(raw.data)).toEqual([1, 2, 3, 255]);
  });

  it('handles CRLF line ends, a byte-order mark, spaces and blank lines', () => {
    const raw = readCsv(temp('crlf.csv', '\uFEFF1.5, 2\r\n\r\n-3 ,4e2\r\n'));
    expect(raw.header).toBeUndefined();
    expect(raw.shape).toEqual([2, 2]);
    expect(Array.from(raw.data)).toEqual([1.5, 2, -3, 400]);
  });

  it('fails on a non-numeric cell, naming its row (file line) and column', () => {
    const err = expectCode(() => readCsv(fixture('bad-cell.csv')), 'InvalidDataFile');
    // Line 1 is the header; the bad cell is on data row 3, i.e. line 4, column 2.
    expect(err.message).toContain('row 4, column 2');
    expect(err.message).toContain('"abc"');
    expect(err.message).toContain('bad-cell.csv');
  });

  it('counts rows from 1 when there is no header', () => {
    const err = expectCode(() => readCsv(temp('bad2.csv', '1,2\n3,4\n5,x\n')), 'InvalidDataFile');
    expect(err.message).toContain('row 3, column 2');
  });

  it('fails on rows of different widths and on a file with no data rows', () => {
    expectCode(() => readCsv(temp('ragged.csv', '1,2\n3,4,5\n')), 'InvalidDataFile');
    expect(
      expectCode(() => readCsv(temp('empty.csv', 'a,b\n')), 'InvalidDataFile').message,
    ).toContain('no data rows');
  });
});

describe('readDataFile', () => {
  it('dispatches on the extension, with or without .gz', () => {
    expect(readDataFile(fixture('images-idx3-ubyte')).shape).toEqual([5, 4, 3]);
    expect(readDataFile(fixture('images-idx3-ubyte.gz')).shape).toEqual([5, 4, 3]);
    expect(readDataFile(fixture('floats.idx')).shape).toEqual([2, 3]);
    expect(readDataFile(fixture('u8-3d.npy')).shape).toEqual([2, 3, 2]);
    expect(readDataFile(fixture('with-header.csv')).shape).toEqual([6, 3]);
    const gzCsv = temp('table.CSV.GZ', gzipSync(readFileSync(fixture('no-header.csv'))));
    expect(Array.from(readDataFile(gzCsv).data)).toEqual(EXPECTED.table.values);
  });

  it('refuses an unknown extension', () => {
    const err = expectCode(() => readDataFile(temp('data.txt', '1,2\n')), 'InvalidDataFile');
    expect(err.message).toContain('unknown extension');
    expect(err.hint).toContain('NPY');
  });
});
