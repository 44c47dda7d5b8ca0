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
  /** How many samples (first-axis items) the file holds, before any `limit`. */
  readonly available: number;
  /** CSV: the cells of the first row, when it was read as a header. */
  readonly header?: readonly string[];
  /** What was decided while reading (a CSV header found or not), one sentence each. */
  readonly notices: readonly string[];
}

/** Whether a CSV file's first row is a header: `auto` takes it as one when none of its cells is a number. */
export type CsvHeader = 'yes' | 'no' | 'auto';

/** Options of {@link readDataFile}. */
export interface ReadDataFileOptions {
  /** How to read a CSV file's first row (default `auto`); other formats have no header. */
  readonly header?: CsvHeader;
}

/** `row R, column C` (both from 1) of value `index` of rows of `featureCount` values. */
function cellAt(index: number, featureCount: number): string {
  const width = Math.max(1, featureCount);
  return `row ${Math.floor(index / width) + 1}, column ${(index % width) + 1}`;
}

const FILL_MISSING = 'Remove or fill missing values first.';
const CLIP_INFINITE = 'Remove or clip infinite values first.';

/**
 * The index of the first NaN or infinite value of `data`, or -1: one pass, fast enough for
 * every read (60000 MNIST images in tens of milliseconds).
 */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // v - v is 0 for every finite value and NaN for NaN and the infinities.
    if (v - v !== 0) return i;
  }
  return -1;
}

/**
 * Why samples with the non-finite value `value` at `index` (row-major, rows of
 * `featureCount` values) cannot be used, e.g. `row 12, column 301: NaN. Remove or fill
 * missing values first.`
 */
export function nonFiniteReason(index: number, featureCount: number, value: number): string {
  return `${cellAt(index, featureCount)}: ${value}. ${Number.isNaN(value) ? FILL_MISSING : CLIP_INFINITE}`;
}

/** Fails with InvalidDataFile at the first non-finite value of `data`, if any. */
function checkFinite(path: string, data: Float32Array, featureCount: number): void {
  const i = firstNonFinite(data);
  if (i >= 0) throw aekitError('InvalidDataFile', path, nonFiniteReason(i, featureCount, data[i]!));
}

/** The reason for a float64 value that is finite but becomes infinite as float32. */
const tooLarge = (at: string, value: number | string) =>
  `${at}: ${value} is too large for float32 (about ±3.4e38 at most). Scale the data down first.`;

/** Values per sample of a full shape (1 for a 1-D array). */
const featuresOf = (shape: readonly number[]) => shape.slice(1).reduce((a, b) => a * b, 1);

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
  if (!type.integer) {
    const features = featuresOf(shape);
    const i = firstNonFinite(data);
    const value = i >= 0 ? type.read(view, headerSize + i * type.size) : 0;
    if (i >= 0 && Number.isFinite(value)) throw fail(tooLarge(cellAt(i, features), value));
    checkFinite(path, data, features);
  }
  return {
    data,
    shape,
    integer: type.integer,
    uint8: bytes[2] === 0x08,
    available: view.getUint32(4, false),
    notices: [],
  };
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
  const start = major === 1 ? 10 : 12;
  if (bytes.length < start) throw fail('the file is cut short inside its header.');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (bytes.length < start + headerLength) throw fail('the file is cut short inside its header.');
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw fail('unreadable NPY header.');
  if (fortran === 'True')
    throw fail('Fortran-order arrays are not supported; save with C order (np.ascontiguousarray).');
  // A Python tuple: "784, 10", "784," (one axis, trailing comma) or "" (a scalar).
  const dims = shapeText.split(',').map((s) => s.trim());
  if (dims.length > 1 && dims[dims.length - 1] === '') dims.pop();
  if (dims.length === 1 && dims[0] === '') dims.pop();
  if (dims.some((d) => !/^\d+$/.test(d))) {
    throw fail(`the shape (${shapeText}) is not a tuple of non-negative integers.`);
  }
  const shape = dims.map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d))) {
    throw fail(`the shape (${shapeText}) is too large.`);
  }
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
  // Typed views need an offset that is a multiple of the size: the header pads the values
  // to one (of 64 bytes), so they are viewed in place unless the buffer itself is not.
  const values =
    offset % kind.size === 0
      ? kind.make(bytes.buffer as ArrayBuffer, offset, count)
      : kind.make(bytes.buffer.slice(offset, offset + count * kind.size) as ArrayBuffer, 0, count);
  let data: Float32Array;
  if (values instanceof Float32Array) data = values;
  else if (values instanceof BigInt64Array) data = Float32Array.from(values, Number);
  else data = new Float32Array(values as Uint8Array | Int32Array | Float64Array);
  const full = shape.length ? shape : [1];
  if (!kind.integer) {
    const i = firstNonFinite(data);
    const value = i >= 0 ? (values[i] as number) : 0;
    if (i >= 0 && Number.isFinite(value)) throw fail(tooLarge(cellAt(i, featuresOf(full)), value));
    checkFinite(path, data, featuresOf(full));
  }
  return {
    data,
    shape: full,
    integer: kind.integer,
    uint8: descr === '|u1',
    available: full[0]!,
    notices: [],
  };
}

/** NaN and infinity as CSV files write them (NumPy, pandas, R, spreadsheets). */
const NON_FINITE_CELL = /^[+-]?(nan|inf|infinity)$/i;

/** Whether a CSV cell holds a number, finite or not (a header holds none). */
const isNumberCell = (cell: string) =>
  cell !== '' && (!Number.isNaN(Number(cell)) || NON_FINITE_CELL.test(cell));

/** A header's cells for a notice: all of them, or the first three and the last. */
function headerText(cells: readonly string[]): string {
  const shown = cells.length > 4 ? [...cells.slice(0, 3), '…', cells[cells.length - 1]!] : cells;
  return shown.join(', ');
}

/** Why `cell` (at `at`) is not a finite float32 value, or undefined when it is one. */
function badCell(cell: string, at: string): string | undefined {
  if (cell === '') return `${at}: empty cell. ${FILL_MISSING}`;
  const v = Number(cell);
  if (NON_FINITE_CELL.test(cell) || (!Number.isNaN(v) && !Number.isFinite(v))) {
    const shown = /nan/i.test(cell) ? 'NaN' : cell.startsWith('-') ? '-Infinity' : 'Infinity';
    return `${at}: "${cell}" (${shown}). ${shown === 'NaN' ? FILL_MISSING : CLIP_INFINITE}`;
  }
  if (Number.isNaN(v)) return `${at}: "${cell}" is not a number.`;
  if (!Number.isFinite(Math.fround(v))) return tooLarge(at, cell);
  return undefined;
}

/**
 * Reads a numeric CSV file: one sample per row, one feature per column. With `header:
 * 'auto'` (the default) the first row is a header when none of its cells is a number, data
 * when all are, and an error naming its first text cell otherwise; what it decided is in
 * `notices`. Empty, NaN and infinite cells are errors naming their row and column.
 */
export function readCsv(path: string, options: ReadDataFileOptions = {}): RawArray {
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
  const mode = options.header ?? 'auto';
  const notices: string[] = [];
  let header: string[] | undefined;
  const first = rows[0];
  if (first && mode === 'yes') {
    header = rows.shift();
  } else if (first && mode === 'auto') {
    const word = first.findIndex((cell) => !isNumberCell(cell));
    if (word < 0) {
      notices.push(
        `"${path}": first row read as data (it holds only numbers); pass --header yes if it is a header.`,
      );
    } else if (first.some(isNumberCell)) {
      throw aekitError(
        'InvalidDataFile',
        path,
        `row 1, column ${word + 1}: "${first[word]}" is not a number, but other cells of the row are, so it is not a header either. Fix the cell, or pass --header yes if the row is a header.`,
      );
    } else {
      header = rows.shift();
      notices.push(
        `"${path}": first row taken as a header (${headerText(first)}); pass --header no to read it as data.`,
      );
    }
  }
  if (!rows.length) throw aekitError('InvalidDataFile', path, 'no data rows.');
  const width = rows[0]!.length;
  const data = new Float32Array(rows.length * width);
  const skipped = header ? 1 : 0;
  let integer = true;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let c = 0; c < width; c++) {
      const cell = row[c]!;
      const v = Number(cell);
      const i = r * width + c;
      data[i] = v;
      // One comparison per cell on the way through; the causes are sorted out on failure.
      if (cell === '' || data[i]! - data[i]! !== 0) {
        const at = `row ${r + 1 + skipped}, column ${c + 1}`;
        const reason = badCell(cell, at) ?? `${at}: "${cell}" is not a number.`;
        const hint =
          r === 0 && mode === 'no' ? ' Pass --header yes if the first row is a header.' : '';
        throw aekitError('InvalidDataFile', path, reason + hint);
      }
      if (integer && !Number.isInteger(v)) integer = false;
    }
  }
  return {
    data,
    shape: [rows.length, width],
    integer,
    uint8: false,
    available: rows.length,
    notices,
    ...(header ? { header } : {}),
  };
}

/**
 * Reads any supported data file, by extension (`.idx`, `-ubyte`, `.npy`, `.csv`, optionally
 * `.gz`). Every value must be finite: NaN and infinities fail with `InvalidDataFile`
 * naming their row and column.
 */
export function readDataFile(path: string, options: ReadDataFileOptions = {}): RawArray {
  const base = path.toLowerCase().replace(/\.gz$/, '');
  if (base.endsWith('.npy')) return readNpy(path);
  if (base.endsWith('.csv')) return readCsv(path, options);
  if (/(\.idx\d?|-ubyte|\.ubyte)$/.test(base)) return readIdx(path);
  throw aekitError(
    'InvalidDataFile',
    path,
    'unknown extension; expected .idx, .npy or .csv (optionally .gz).',
  );
}
