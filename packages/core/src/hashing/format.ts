/**
 * The `aekit-hash/2` file that stores a hash index, with a CRC-32 of its content, and the
 * `aekit-hash/1` files before it (without one), which are still read.
 */
import { aekitError } from '../errors.js';
import {
  codeWords,
  firstDirtyItem,
  invalid,
  MAX_CODE_BITS,
  type PackedCodes,
  show,
  validatePackedCodes,
} from './codes.js';
import { type HashIndex, isPlainObject, makeIndex } from './search.js';

/** The first 10 bytes of an `aekit-hash/2` file, the format {@link serializeHashIndex} writes. */
export const HASH_INDEX_MAGIC = 'AEKITHASH2';
/** The `format` field of the header of the files {@link serializeHashIndex} writes. */
export const HASH_INDEX_FORMAT = 'aekit-hash/2';
/** The magic of the first format, `aekit-hash/1` (no checksum), which is still read. */
export const HASH_INDEX_MAGIC_V1 = 'AEKITHASH1';
/** The `format` field of an `aekit-hash/1` header. */
export const HASH_INDEX_FORMAT_V1 = 'aekit-hash/1';

/** Each version's magic and header format; the magics differ only in their last byte. */
const VERSIONS = [
  { magic: new TextEncoder().encode(HASH_INDEX_MAGIC), format: HASH_INDEX_FORMAT, checksum: true },
  {
    magic: new TextEncoder().encode(HASH_INDEX_MAGIC_V1),
    format: HASH_INDEX_FORMAT_V1,
    checksum: false,
  },
] as const;
const MAGIC = VERSIONS[0].magic;
/** Magic, then the uint32 header length. */
const PREFIX_BYTES = MAGIC.length + 4;
/** The uint32 CRC-32 at the end of an `aekit-hash/2` file. */
const CHECKSUM_BYTES = 4;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const align4 = (n: number): number => (n + 3) & ~3;

/** The JSON header of an `aekit-hash/2` (or `/1`) file. */
interface HashIndexHeader {
  format: typeof HASH_INDEX_FORMAT | typeof HASH_INDEX_FORMAT_V1;
  bits: number;
  count: number;
  labels: boolean;
  ids?: string[];
  meta: Record<string, unknown>;
}

let crcTable: Uint32Array | undefined;

/**
 * The CRC-32 of `bytes` (IEEE 802.3, reflected, as zip, gzip and PNG compute it):
 * `crc32(TextEncoder('123456789')) === 0xcbf43926`.
 *
 * Why CRC-32 for the `aekit-hash/2` checksum: it must be computed synchronously in browsers
 * and Node alike, by this module, which imports nothing (it is loaded through an import map
 * without a bundler), so neither `node:crypto` nor an npm package, and WebCrypto's `digest`
 * is asynchronous only. The checksum guards against accidents (a flipped bit, a truncated or
 * spliced copy): CRC-32 catches every burst of up to 32 bits and any one or two flipped bits
 * in files up to 512 MiB, and misses other damage with a chance of 2^-32, in a dozen lines.
 * A cryptographic hash would add nothing against deliberate edits: whoever can change the
 * file can write a new digest too.
 */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const table = crcTable;
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Copies the 32-bit words of `src` into `out` at `offset`, little-endian. */
function writeWords(out: Uint8Array, offset: number, src: Uint32Array | Int32Array): void {
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), offset);
  } else {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    for (let i = 0; i < src.length; i++) view.setUint32(offset + 4 * i, src[i]! >>> 0, true);
  }
}

/**
 * Writes an index in the `aekit-hash/2` format:
 *
 * | bytes | content |
 * |---|---|
 * | 10 | ASCII magic `AEKITHASH2` |
 * | 4 | uint32 LE: byte length H of the JSON header |
 * | H | UTF-8 JSON `{ format: 'aekit-hash/2', bits, count, labels: boolean, ids?: string[], meta }` |
 * | 0–3 | zero bytes, so the codes start at a multiple of 4 |
 * | 4 · count · words | the codes, uint32 LE, laid out as {@link PackedCodes} |
 * | 4 · count | int32 LE labels, when `labels` is true |
 * | 4 | uint32 LE: the {@link crc32} of every byte before it |
 *
 * `aekit-hash/1` is the same without the checksum (magic `AEKITHASH1`, format
 * `aekit-hash/1`).
 *
 * The alignment lets {@link parseHashIndex} view the codes in place. `meta` goes through
 * `JSON.stringify`, so values JSON cannot represent (functions, `undefined`) are dropped.
 *
 * @throws AekitError `InvalidArgument` for malformed codes, ids or labels whose length is not
 *   the number of codes, or a `meta` that JSON cannot serialise (a BigInt, a cycle).
 */
export function serializeHashIndex(index: HashIndex): Uint8Array {
  const where = 'serializeHashIndex()';
  validatePackedCodes(index?.codes, `${where}: index.codes`, false);
  const { bits, count, data } = index.codes;
  // An index built by hand may not have been checked by createHashIndex; a file whose ids or
  // labels do not match its codes would only fail when read back.
  if (index.ids !== undefined && (!Array.isArray(index.ids) || index.ids.length !== count)) {
    throw invalid(where, `index.ids must be an array of ${count} strings, one per code.`);
  }
  if (
    index.labels !== undefined &&
    (!(index.labels instanceof Int32Array) || index.labels.length !== count)
  ) {
    throw invalid(where, `index.labels must be an Int32Array of ${count} labels, one per code.`);
  }
  const header: HashIndexHeader = {
    format: HASH_INDEX_FORMAT,
    bits,
    count,
    labels: index.labels !== undefined,
    ...(index.ids === undefined ? {} : { ids: [...index.ids] }),
    meta: { ...index.meta },
  };
  let json: string;
  try {
    json = JSON.stringify(header);
  } catch (err) {
    throw invalid(where, `meta cannot be written as JSON: ${(err as Error).message}`);
  }
  const headerBytes = new TextEncoder().encode(json);
  const codesAt = align4(PREFIX_BYTES + headerBytes.length);
  const labelsAt = codesAt + data.byteLength;
  const checksumAt = labelsAt + (index.labels === undefined ? 0 : 4 * count);
  const out = new Uint8Array(checksumAt + CHECKSUM_BYTES);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(MAGIC.length, headerBytes.length, true);
  out.set(headerBytes, PREFIX_BYTES);
  writeWords(out, codesAt, data);
  if (index.labels !== undefined) writeWords(out, labelsAt, index.labels);
  view.setUint32(checksumAt, crc32(out.subarray(0, checksumAt)), true);
  return out;
}

/**
 * `length` 32-bit LE words of `bytes` from `offset`: a view of the same memory when the
 * position is 4-byte aligned in its buffer and the platform is little-endian (as every
 * current browser and Node platform is), else a copy.
 */
function readWords<T extends Uint32Array | Int32Array>(
  Type: {
    new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
    new (n: number): T;
  },
  bytes: Uint8Array,
  offset: number,
  length: number,
): T {
  const at = bytes.byteOffset + offset;
  if (LITTLE_ENDIAN && at % 4 === 0) return new Type(bytes.buffer, at, length);
  const out = new Type(length);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + 4 * length));
  } else {
    const view = new DataView(bytes.buffer, at, 4 * length);
    for (let i = 0; i < length; i++) out[i] = view.getUint32(4 * i, true);
  }
  return out;
}

/**
 * Reads an `aekit-hash/2` file (see {@link serializeHashIndex} for the layout), checking its
 * checksum, or an `aekit-hash/1` file (which has none).
 *
 * The codes and labels are views of `bytes` when they are 4-byte aligned in its buffer (do
 * not modify `bytes` while the index is in use); a `bytes` that starts at an unaligned offset
 * of its buffer (e.g. a slice of a larger buffer) is copied. Header fields other than those of
 * the format are ignored.
 *
 * @param bytes - The whole file.
 * @param source - How to name the file in errors, e.g. its path.
 * @throws AekitError `InvalidHashIndex` naming `source` and what is wrong: too short, another
 *   magic, a checksum that does not match the content (`aekit-hash/2`), a header that is not UTF-8 JSON or lacks a field, a length that does not match the
 *   header (truncated or with extra bytes), non-zero padding, bits set above `bits`;
 *   `InvalidArgument` when `bytes` is not a `Uint8Array`.
 */
export function parseHashIndex(bytes: Uint8Array, source = 'index'): HashIndex {
  if (!(bytes instanceof Uint8Array)) {
    throw invalid('parseHashIndex()', 'bytes must be a Uint8Array (the whole file).');
  }
  const fail = (reason: string): Error => aekitError('InvalidHashIndex', source, reason);
  const version = VERSIONS.find(({ magic }) =>
    magic.every((b, i) => i >= bytes.length || bytes[i] === b),
  );
  if (!version) {
    const start = Array.from(bytes.subarray(0, MAGIC.length), (b) =>
      b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.',
    ).join('');
    throw fail(
      `it starts with "${start}", not "${HASH_INDEX_MAGIC}" (nor "${HASH_INDEX_MAGIC_V1}", the older format), so it is not an aekit hash index.`,
    );
  }
  const minimum = PREFIX_BYTES + (version.checksum ? CHECKSUM_BYTES : 0);
  if (bytes.length < minimum) {
    throw fail(
      `it is only ${bytes.length} bytes long, less than the magic, the header length${version.checksum ? ' and the checksum' : ''} (${minimum} bytes): it is truncated.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  // What follows is checked against the content before the checksum.
  const size = bytes.length - (version.checksum ? CHECKSUM_BYTES : 0);
  if (version.checksum) {
    const recorded = view.getUint32(size, true);
    const computed = crc32(bytes.subarray(0, size));
    if (recorded !== computed) {
      const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
      throw fail(
        `its checksum does not match its content (CRC-32 ${hex(computed)}, recorded ${hex(recorded)}): the file was changed or cut short after it was written.`,
      );
    }
  }
  const headerLength = view.getUint32(MAGIC.length, true);
  if (PREFIX_BYTES + headerLength > size) {
    throw fail(
      `the header is ${headerLength} bytes long but only ${size - PREFIX_BYTES} bytes follow: the file is truncated.`,
    );
  }
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(
      bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength),
    );
    header = JSON.parse(text);
  } catch (err) {
    throw fail(`the header is not UTF-8 JSON (${(err as Error).message}).`);
  }
  if (!isPlainObject(header)) throw fail('the header is not a JSON object.');
  const { format, bits, count, labels, ids, meta } = header;
  if (format !== version.format) {
    throw fail(
      `the header's format is ${show(format)}, not "${version.format}" (the format its magic "${new TextDecoder().decode(version.magic)}" announces).`,
    );
  }
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 1 || bits > MAX_CODE_BITS) {
    throw fail(`the header's bits is ${show(bits)}, not an integer from 1 to ${MAX_CODE_BITS}.`);
  }
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
    throw fail(`the header's count is ${show(count)}, not a non-negative integer.`);
  }
  if (typeof labels !== 'boolean') {
    throw fail(`the header's labels is ${show(labels)}, not true or false.`);
  }
  if (ids !== undefined) {
    if (!Array.isArray(ids) || ids.length !== count) {
      throw fail(
        `the header's ids is not an array of ${count} strings (one per code)${Array.isArray(ids) ? `: it has ${ids.length}` : ''}.`,
      );
    }
    const bad = ids.findIndex((id) => typeof id !== 'string');
    if (bad >= 0) throw fail(`id ${bad} in the header is ${show(ids[bad])}, not a string.`);
  }
  if (!isPlainObject(meta)) throw fail("the header's meta is missing or not a JSON object.");

  const codesAt = align4(PREFIX_BYTES + headerLength);
  for (let p = PREFIX_BYTES + headerLength; p < Math.min(codesAt, size); p++) {
    if (bytes[p] !== 0) throw fail(`the padding after the header (byte ${p}) is not zero.`);
  }
  const words = codeWords(bits);
  const labelsAt = codesAt + 4 * count * words;
  const expected = labelsAt + (labels ? 4 * count : 0);
  if (size !== expected) {
    const body = `${count} codes of ${bits} bits${labels ? ' and their labels' : ''}`;
    throw fail(
      size < expected
        ? `it is ${size} bytes long, but the header announces ${body}, which end at byte ${expected}: the file is truncated.`
        : `it has ${size - expected} unexpected byte(s) after the ${body} the header announces.`,
    );
  }
  const codes: PackedCodes = {
    bits,
    count,
    data: readWords(Uint32Array, bytes, codesAt, count * words),
  };
  const dirty = firstDirtyItem(codes);
  if (dirty >= 0) {
    throw fail(`the code of item ${dirty} has bits set above bit ${bits - 1}.`);
  }
  const labelArray = labels ? readWords(Int32Array, bytes, labelsAt, count) : undefined;
  return makeIndex(
    codes,
    ids === undefined ? undefined : Object.freeze(ids as string[]),
    labelArray,
    Object.freeze(meta),
  );
}
