import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCsv, readNpy } from './readers.js';
import { encodeNpy, writeDataFile } from './writers.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-writers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writers', () => {
  it('writes NPY files that read back exactly, with a 64-byte aligned header', () => {
    const data = Float32Array.from({ length: 24 }, (_, i) => i / 7 - 1);
    const bytes = encodeNpy(data, [2, 3, 4]);
    const headerLength = new DataView(bytes.buffer).getUint16(8, true);
    expect((10 + headerLength) % 64).toBe(0);
    const path = join(dir, 'a.npy');
    writeDataFile(path, data, [2, 3, 4]);
    const back = readNpy(path);
    expect(back.shape).toEqual([2, 3, 4]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
  });

  it('writes one-dimensional NPY shapes as a Python 1-tuple', () => {
    const text = new TextDecoder().decode(encodeNpy(new Float32Array(5), [5]).subarray(10, 80));
    expect(text).toContain("'shape': (5,)");
  });

  it('writes CSV files, one sample per line', () => {
    const path = join(dir, 'a.csv');
    writeDataFile(path, Float32Array.from([1, 2.5, -3, 4, 5, 6]), [2, 3]);
    expect(readFileSync(path, 'utf8')).toBe('1,2.5,-3\n4,5,6\n');
    expect(readCsv(path).shape).toEqual([2, 3]);
  });
});
