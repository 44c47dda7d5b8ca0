import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCode } from '../test-utils/index.js';
import { firstNonFinite, readCsv, readDataFile, readIdx, readNpy } from './readers.js';
import { encodeNpy } from './writers.js';

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

/** An NPY file of `descr` values, the bytes given as a typed array. */
const npy = (descr: string, shape: readonly number[], values: ArrayBufferView): Uint8Array =>
  encodeNpy(values, shape, descr);

/** A big-endian IDX file of float32 (type 0x0d) or float64 (0x0e) values. */
function idxFloats(type: 0x0d | 0x0e, shape: readonly number[], values: readonly number[]) {
  const size = type === 0x0d ? 4 : 8;
  const out = new Uint8Array(4 + 4 * shape.length + size * values.length);
  const view = new DataView(out.buffer);
  out.set([0, 0, type, shape.length]);
  for (let i = 0; i < shape.length; i++) view.setUint32(4 + 4 * i, shape[i]!, false);
  for (let i = 0; i < values.length; i++) {
    const at = 4 + 4 * shape.length + size * i;
    if (type === 0x0d) view.setFloat32(at, values[i]!, false);
    else view.setFloat64(at, values[i]!, false);
  }
  return out;
}

describe('non-finite values', () => {
  it('NPY float32: refuses NaN, naming its row (sample) and column (feature), from 1', () => {
    const values = Float32Array.from({ length: 12 }, (_, i) => i);
    values[6] = Number.NaN;
    const path = temp('nan.npy', npy('<f4', [3, 4], values));
    const err = expectCode(() => readNpy(path), 'InvalidDataFile');
    // Value 6 of rows of 4: row 2, column 3.
    expect(err.message).toContain('row 2, column 3: NaN. Remove or fill missing values first.');
    expect(err.message).toContain('nan.npy');
  });

  it('NPY: refuses infinities, and float64 values too large for float32', () => {
    const inf = Float64Array.of(0, 1, -Infinity, 3);
    expect(
      expectCode(() => readNpy(temp('inf.npy', npy('<f8', [2, 2], inf))), 'InvalidDataFile')
        .message,
    ).toContain('row 2, column 1: -Infinity');
    const big = Float64Array.of(0, 1e300);
    expect(
      expectCode(() => readNpy(temp('big.npy', npy('<f8', [1, 2], big))), 'InvalidDataFile')
        .message,
    ).toContain('row 1, column 2: 1e+300 is too large for float32');
  });

  it('IDX float32 and float64: refuses NaN and infinities', () => {
    const f32 = temp('inf.idx', idxFloats(0x0d, [2, 3], [0, 1, 2, 3, Infinity, 5]));
    expect(expectCode(() => readIdx(f32), 'InvalidDataFile').message).toContain(
      'row 2, column 2: Infinity',
    );
    const f64 = temp('nan.idx', idxFloats(0x0e, [2, 1, 2], [0, Number.NaN, 2, 3]));
    expect(expectCode(() => readIdx(f64), 'InvalidDataFile').message).toContain(
      'row 1, column 2: NaN',
    );
  });

  it('CSV: refuses nan, inf and Infinity cells, and numbers beyond float32', () => {
    for (const [cell, shown] of [
      ['nan', 'NaN'],
      ['NaN', 'NaN'],
      ['inf', 'Infinity'],
      ['Infinity', 'Infinity'],
      ['-Infinity', '-Infinity'],
      ['1e999', 'Infinity'],
    ]) {
      const path = temp('inf.csv', `1,2,3\n4,5,${cell}\n`);
      const err = expectCode(() => readCsv(path), 'InvalidDataFile');
      expect(err.message, cell).toContain(`row 2, column 3: "${cell}" (${shown}).`);
    }
    const big = temp('big.csv', '1,2\n3,1e39\n');
    expect(expectCode(() => readCsv(big), 'InvalidDataFile').message).toContain(
      'row 2, column 2: 1e39 is too large for float32',
    );
  });

  it('says to fill missing values for an empty cell', () => {
    const err = expectCode(() => readCsv(temp('gap.csv', '1,2\n3,\n')), 'InvalidDataFile');
    expect(err.message).toContain('row 2, column 2: empty cell');
    expect(err.message).toContain('Remove or fill missing values first.');
  });

  it('reads an MNIST-sized float32 file, its check one quick pass', () => {
    // 60000 x 784 values (188 MB).
    const f32 = new Float32Array(60_000 * 784);
    for (let i = 0; i < f32.length; i++) f32[i] = (i % 256) / 255;
    const raw = readNpy(temp('big.npy', npy('<f4', [60_000, 784], f32)));
    expect(raw.data.length).toBe(f32.length);
    expect(raw.data[783]).toBe(f32[783]);
    // The check alone: measured 70-110 ms on a loaded 2-core VM, against ~600 ms to read the
    // file's bytes. The bound is ten times that, so only a per-value slow path fails it.
    const start = performance.now();
    expect(firstNonFinite(raw.data)).toBe(-1);
    expect(performance.now() - start).toBeLessThan(1000);
    f32[f32.length - 1] = Number.NaN;
    expect(firstNonFinite(f32)).toBe(f32.length - 1);
  });
});

describe('readCsv: the header', () => {
  it('auto: a first row of text only is a header, and it says so', () => {
    const raw = readCsv(temp('h.csv', 'pixel0,pixel1\n1,2\n3,4\n'));
    expect(raw.header).toEqual(['pixel0', 'pixel1']);
    expect(raw.shape).toEqual([2, 2]);
    expect(raw.notices).toEqual([
      expect.stringMatching(
        /"[^"]*h\.csv": first row taken as a header \(pixel0, pixel1\); pass --header no to read it as data\.$/,
      ),
    ]);
  });

  it('auto: a first row of numbers is data, and it says so', () => {
    const raw = readCsv(temp('n.csv', '0,1\n1,2\n'));
    expect(raw.header).toBeUndefined();
    expect(raw.shape).toEqual([2, 2]);
    expect(raw.notices).toEqual([expect.stringContaining('first row read as data')]);
    expect(raw.notices[0]).toContain('--header yes');
  });

  it('auto: shortens a long header in the notice', () => {
    const names = Array.from({ length: 784 }, (_, i) => `pixel${i}`);
    const raw = readCsv(temp('wide.csv', `${names.join(',')}\n${names.map(() => 0).join(',')}\n`));
    expect(raw.notices[0]).toContain('(pixel0, pixel1, pixel2, …, pixel783)');
  });

  it('auto: a first row of numbers and text is an error naming the text cell, not a header', () => {
    const path = temp('mixed.csv', '1,2,label\n3,4,5\n6,7,8\n');
    const err = expectCode(() => readCsv(path), 'InvalidDataFile');
    expect(err.message).toContain('row 1, column 3: "label" is not a number');
    expect(err.message).toContain('--header yes');
  });

  it('yes: the first row is skipped even when it is numbers', () => {
    const raw = readCsv(temp('y.csv', '0,1\n5,6\n'), { header: 'yes' });
    expect(raw.header).toEqual(['0', '1']);
    expect(Array.from(raw.data)).toEqual([5, 6]);
    expect(raw.notices).toEqual([]);
  });

  it('no: the first row is data; text there is an error', () => {
    const raw = readCsv(temp('no.csv', '0,1\n5,6\n'), { header: 'no' });
    expect(raw.shape).toEqual([2, 2]);
    expect(raw.notices).toEqual([]);
    const err = expectCode(
      () => readCsv(temp('no2.csv', 'a,b\n5,6\n'), { header: 'no' }),
      'InvalidDataFile',
    );
    expect(err.message).toContain('row 1, column 1: "a" is not a number');
  });

  it('readDataFile passes the header choice on to CSV files', () => {
    const path = temp('pass.csv', '0,1\n5,6\n');
    expect(readDataFile(path, { header: 'yes' }).shape).toEqual([1, 2]);
    expect(readDataFile(path, { header: 'no' }).shape).toEqual([2, 2]);
  });
});
