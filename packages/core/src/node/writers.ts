import { writeAtomic } from './run-dir.js';

/** The NPY dtype of each typed array aekit writes. */
function descrOf(data: ArrayBufferView): string {
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Uint8Array) return '|u1';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof BigInt64Array) return '<i8';
  return '<f4';
}

/**
 * Encodes values as a NumPy .npy file (format 1.0, little-endian, C order): the magic
 * string, a Python-dict header padded to 64 bytes, then the raw values. The dtype follows the
 * array (float32 unless it is a Float64Array, Uint8Array, Int32Array or BigInt64Array), or
 * `descr` when given.
 */
export function encodeNpy(
  data: ArrayBufferView,
  shape: readonly number[],
  descr: string = descrOf(data),
): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64);
  header += '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/**
 * Encodes rows of numbers as CSV, one sample per line. Numbers never need quoting, so
 * joining with commas is the whole format here.
 */
export function encodeCsv(data: Float32Array, featureCount: number): string {
  const lines: string[] = [];
  for (let i = 0; i < data.length; i += featureCount) {
    lines.push(Array.from(data.subarray(i, i + featureCount), (v) => String(v)).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Writes samples to `path` as .npy or .csv (by extension), atomically. */
export function writeDataFile(path: string, data: Float32Array, shape: readonly number[]): void {
  const featureCount = shape.slice(1).reduce((a, b) => a * b, 1);
  if (path.toLowerCase().endsWith('.csv')) writeAtomic(path, encodeCsv(data, featureCount));
  else writeAtomic(path, encodeNpy(data, shape));
}
