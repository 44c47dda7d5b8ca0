import { writeAtomic } from './run-dir.js';

/**
 * Encodes float32 values as a NumPy .npy file (format 1.0, little-endian, C order): the
 * magic string, a Python-dict header padded to 64 bytes, then the raw values.
 */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
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
