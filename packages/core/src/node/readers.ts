import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import { aekitError, aekitErrorWithCause } from '../errors.js';

/** Raw numeric contents of a data file: row-major values and the full shape. */
export interface RawArray {
  /** Values as stored (uint8 stays 0..255; normalisation comes later). */
  readonly data: Float32Array;
  /** Full shape: `[count, ...sampleShape]`. */
  readonly shape: readonly number[];
  /** Whether the file stored integers (labels are read from such files). */
  readonly integer: boolean;
  /** Whether the file stored unsigned 8-bit values (images: `auto` maps them to [0, 1]). */
  readonly uint8: boolean;
}

function readBytes(path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw aekitErrorWithCause(err, 'InvalidDataFile', path, (err as Error).message);
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes);
    } catch (err) {
      throw aekitErrorWithCause(
        err,
        'InvalidDataFile',
        path,
        `corrupt gzip data (${(err as Error).message}).`,
      );
    }
  }
  return bytes;
}

const IDX_TYPES: Record<
  number,
  { size: number; read: (v: DataView, o: number) => number; integer: boolean }
> = {
  8: { size: 1, read: (v, o) => v.getUint8(o), integer: true },
  9: { size: 1, read: (v, o) => v.getInt8(o), integer: true },
  11: { size: 2, read: (v, o) => v.getInt16(o, false), integer: true },
  12: { size: 4, read: (v, o) => v.getInt32(o, false), integer: true },
  13: { size: 4, read: (v, o) => v.getFloat32(o, false), integer: false },
  14: { size: 8, read: (v, o) => v.getFloat64(o, false), integer: false },
};

/**
 * Reads an IDX file (the MNIST format), plain or gzipped. The format is four header bytes
 * (0, 0, type, rank), `rank` big-endian uint32 dimensions, then the values; it is small
 * enough that a dependency would add more than it saves.
 */
export function readIdx(path: string, options: { limit?: number } = {}): RawArray {
  const bytes = readBytes(path);
  const fail = (reason: string) => aekitError('InvalidDataFile', path, reason);
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0)
    throw fail('not an IDX file (bad magic number).');
  const type = IDX_TYPES[bytes[2]!];
  if (!type) throw fail(`unknown IDX value type 0x${bytes[2]!.toString(16)}.`);
  const rank = bytes[3]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerSize = 4 + 4 * rank;
  if (rank < 1 || bytes.length < headerSize) throw fail('truncated IDX header.');
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== headerSize + count * type.size) {
    throw fail(
      `expected ${count} values of ${type.size} byte(s) for shape [${shape.join(', ')}], found ${bytes.length - headerSize} bytes.`,
    );
  }
  // With a limit only the first `limit` items are converted (the header still describes all).
  const itemSize = count / Math.max(1, shape[0]!);
  const items = options.limit === undefined ? shape[0]! : Math.min(shape[0]!, options.limit);
  const kept = items * itemSize;
  shape[0] = items;
  const data = new Float32Array(kept);
  if (type.size === 1 && bytes[2] === 0x08) {
    data.set(bytes.subarray(headerSize, headerSize + kept));
  } else {
    for (let i = 0; i < kept; i++) data[i] = type.read(view, headerSize + i * type.size);
  }
  return { data, shape, integer: type.integer, uint8: bytes[2] === 0x08 };
}

/**
 * Reads a NumPy .npy file holding float32, float64, uint8 or int32/int64 values in C order.
 * The header is a Python dict literal of three fixed keys; it is parsed here because no
 * well-kept npm package covers the format (and it is a dozen lines).
 */
export function readNpy(path: string): RawArray {
  const bytes = readBytes(path);
  const fail = (reason: string) => aekitError('InvalidDataFile', path, reason);
  const magic = String.fromCharCode(...bytes.subarray(1, 6));
  if (bytes[0] !== 0x93 || magic !== 'NUMPY') throw fail('not an NPY file (bad magic string).');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw fail('unreadable NPY header.');
  if (fortran === 'True')
    throw fail('Fortran-order arrays are not supported; save with C order (np.ascontiguousarray).');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = bytes.byteOffset + start + headerLength;
  const kinds: Record<
    string,
    {
      size: number;
      make: (b: ArrayBuffer, o: number, n: number) => ArrayLike<number | bigint>;
      integer: boolean;
    }
  > = {
    '<f4': { size: 4, make: (b, o, n) => new Float32Array(b, o, n), integer: false },
    '<f8': { size: 8, make: (b, o, n) => new Float64Array(b, o, n), integer: false },
    '|u1': { size: 1, make: (b, o, n) => new Uint8Array(b, o, n), integer: true },
    '<i4': { size: 4, make: (b, o, n) => new Int32Array(b, o, n), integer: true },
    '<i8': { size: 8, make: (b, o, n) => new BigInt64Array(b, o, n), integer: true },
  };
  const kind = kinds[descr];
  if (!kind)
    throw fail(
      `dtype ${descr} is not supported; use float32, float64, uint8, int32 or int64 (little-endian).`,
    );
  if (bytes.length - (start + headerLength) !== count * kind.size) {
    throw fail(
      `expected ${count} values for shape (${shape.join(', ')}), the file is ${bytes.length} bytes.`,
    );
  }
  // Copy into an aligned buffer: typed views need an offset that is a multiple of the size.
  const aligned = bytes.buffer.slice(offset, offset + count * kind.size) as ArrayBuffer;
  const values = kind.make(aligned, 0, count);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = Number(values[i]);
  return { data, shape: shape.length ? shape : [1], integer: kind.integer, uint8: descr === '|u1' };
}

/**
 * Reads a numeric CSV file: one sample per row, one feature per column. A first row that
 * is not numeric is taken as a header and skipped.
 */
export function readCsv(path: string): RawArray & { header?: string[] } {
  const text = new TextDecoder().decode(readBytes(path));
  let rows: string[][];
  try {
    rows = parseCsv(text, {
      skip_empty_lines: true,
      trim: true,
      relax_column_count: false,
    }) as string[][];
  } catch (err) {
    throw aekitErrorWithCause(err, 'InvalidDataFile', path, (err as Error).message);
  }
  const isNumber = (s: string) => s !== '' && !Number.isNaN(Number(s));
  let header: string[] | undefined;
  if (rows.length && !rows[0]!.every(isNumber)) header = rows.shift();
  if (!rows.length) throw aekitError('InvalidDataFile', path, 'no data rows.');
  const width = rows[0]!.length;
  const data = new Float32Array(rows.length * width);
  let integer = true;
  rows.forEach((row, r) => {
    row.forEach((cell, c) => {
      const v = Number(cell);
      if (!isNumber(cell)) {
        throw aekitError(
          'InvalidDataFile',
          path,
          `row ${r + (header ? 2 : 1)}, column ${c + 1}: "${cell}" is not a number.`,
        );
      }
      if (!Number.isInteger(v)) integer = false;
      data[r * width + c] = v;
    });
  });
  return {
    data,
    shape: [rows.length, width],
    integer,
    uint8: false,
    ...(header ? { header } : {}),
  };
}

/** Reads any supported data file, by extension (`.idx`, `-ubyte`, `.npy`, `.csv`, optionally `.gz`). */
export function readDataFile(path: string): RawArray {
  const base = path.toLowerCase().replace(/\.gz$/, '');
  if (base.endsWith('.npy')) return readNpy(path);
  if (base.endsWith('.csv')) return readCsv(path);
  if (/(\.idx\d?|-ubyte|\.ubyte)$/.test(base)) return readIdx(path);
  throw aekitError(
    'InvalidDataFile',
    path,
    'unknown extension; expected .idx, .npy or .csv (optionally .gz).',
  );
}
