/**
 * Property-based fuzzing of every file aekit reads back: IDX (plain and gzipped), NPY, CSV,
 * the `.aehash` hash index, `aekit.json`, the run manifest, the saved networks
 * (`model/<net>/model.json` + `weights.bin`) and the checkpoint. Small valid files are cut
 * short, get bytes flipped or inserted, declare huge sizes, and (JSON) lose fields or get
 * values of the wrong type or size. Every outcome must be one of two:
 *
 * - a load whose result is right: self-consistent (as many values as the shape says, every
 *   value the bytes hold), and for a file under a checksum (the run's files under the
 *   manifest's sha256, the checkpoint's sha256, `aekit-hash/2`'s CRC-32) only bytes the
 *   checksum does not cover may differ from what was written;
 * - an aekit error of the catalogue, of the kind the reader documents — never a TypeError,
 *   a RangeError or another plain error, and never a hang.
 *
 * The writers leave nothing half written: an atomic write that cannot happen throws
 * `CannotWrite` and leaves no temporary file beside its target.
 *
 * The fast-check seed is fixed, so every run tries the same cases and a failure reproduces
 * (fast-check prints the shrunk counterexample). The cases run per format and the time are
 * printed at the end.
 */
import { createHash } from 'node:crypto';
import {
  cpSync,
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
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AekitErrorName,
  AekitErrors,
  codeWords,
  crc32,
  createHashIndex,
  type HashIndex,
  isAekitError,
  manifestSchema,
  packBits,
  parseExportedModel,
  parseHashIndex,
  type RunManifest,
  serializeHashIndex,
  validatePackedCodes,
} from '@aekit/core';
import {
  encodeCsv,
  encodeNpy,
  type RawArray,
  RunDirectory,
  readCsv,
  readDataFile,
  readIdx,
  readNpy,
  writeAtomic,
} from '@aekit/core/node';
import { loadAutoencoder, loadHashIndex, parseMetadata } from '@aekit/runtime-web';
import { createOptimizer, loadRunModel, readCheckpoint, train } from '@aekit/trainers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';

/** Every property runs from this seed: CI tries the same cases on every run. */
const SEED = 20_261_208;

/**
 * A case slower than this is a hang. Every file here is under 4 KB, which a reader handles
 * in well under a millisecond; the margin is for a slow shared CI core and a GC pause.
 */
const CASE_MS = 2_000;

const started = performance.now();
const cases = new Map<string, number>();
/** Of {@link cases}, those that loaded (the rest failed typed). */
const loaded = new Map<string, number>();
const dir = mkdtempSync(join(tmpdir(), 'aekit-fuzz-'));

afterAll(() => {
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const total = [...cases.values()].reduce((a, b) => a + b, 0);
  const each = [...cases]
    .map(([format, n]) => `${format} ${n} (${loaded.get(format) ?? 0} ok)`)
    .join(', ');
  console.log(`fuzz: ${total} cases in ${seconds} s (${each})`);
  rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Outcomes

type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false };

const show = (err: unknown): string =>
  err instanceof Error ? `${err.constructor.name}: ${err.message}` : `${typeof err}: ${err}`;

/** What a reader's failure must be: an aekit error, with one of the codes `codes`. */
function checkError(format: string, codes: readonly AekitErrorName[], error: unknown): void {
  if (!isAekitError(error) || !(error.code in AekitErrors)) {
    throw new Error(`${format}: threw ${show(error)}, not an aekit error`, { cause: error });
  }
  if (!codes.includes(error.code)) {
    throw new Error(`${format}: threw ${error.code} (${error.message}), expected ${codes}`, {
      cause: error,
    });
  }
}

/**
 * Runs a synchronous reader once, timed: its result, or a failure that is an aekit error
 * with one of `codes` (anything else fails the case).
 */
function attempt<T>(format: string, codes: readonly AekitErrorName[], read: () => T): Outcome<T> {
  cases.set(format, (cases.get(format) ?? 0) + 1);
  const start = performance.now();
  let outcome: Outcome<T>;
  let error: unknown;
  try {
    outcome = { ok: true, value: read() };
  } catch (err) {
    outcome = { ok: false };
    error = err;
  }
  const ms = performance.now() - start;
  if (ms > CASE_MS) throw new Error(`${format}: the reader took ${ms.toFixed(0)} ms (a hang)`);
  if (!outcome.ok) checkError(format, codes, error);
  else loaded.set(format, (loaded.get(format) ?? 0) + 1);
  return outcome;
}

/** {@link attempt} for an asynchronous reader: it must settle within {@link CASE_MS}. */
async function attemptAsync<T>(
  format: string,
  codes: readonly AekitErrorName[],
  read: () => Promise<T>,
): Promise<Outcome<T>> {
  cases.set(format, (cases.get(format) ?? 0) + 1);
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${format}: no answer within ${CASE_MS} ms (a hang)`)),
      CASE_MS,
    );
  });
  try {
    return await Promise.race([
      read().then(
        (value): Outcome<T> => {
          loaded.set(format, (loaded.get(format) ?? 0) + 1);
          return { ok: true, value };
        },
        (error: unknown): Outcome<T> => {
          checkError(format, codes, error);
          return { ok: false };
        },
      ),
      hang,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Fails the case with `what` unless `condition`. */
function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(what);
}

const sameValue = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));

function checkValues(what: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  check(got.length === want.length, `${what}: ${got.length} values, expected ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    check(sameValue(got[i]!, want[i]!), `${what}: value ${i} is ${got[i]}, expected ${want[i]}`);
  }
}

const equalBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

const isDim = (d: unknown): d is number => Number.isSafeInteger(d) && (d as number) >= 0;

/** A shape of non-negative integers whose product is a real length. */
function checkShape(what: string, shape: readonly unknown[]): void {
  check(shape.every(isDim), `${what}: shape [${shape}] is not made of non-negative integers`);
  check(Number.isSafeInteger(product(shape as number[])), `${what}: shape [${shape}] is too big`);
}

// ---------------------------------------------------------------------------------------------
// Byte mutations

type Mutation =
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'flip'; readonly flips: readonly { at: number; mask: number }[] }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'set'; readonly field: SizeField; readonly value: number };

/** A size field of a format: where it is, how wide, which byte order. */
interface SizeField {
  readonly at: number;
  readonly width: 2 | 4;
  readonly littleEndian: boolean;
}

/** Values for size fields: nothing, one, and the sizes where 32-bit arithmetic breaks. */
const HUGE = [0, 1, 2 ** 16 - 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1] as const;

function mutate(seed: Uint8Array, m: Mutation): Uint8Array {
  switch (m.kind) {
    case 'truncate':
      return seed.slice(0, m.at);
    case 'flip': {
      const out = seed.slice();
      for (const { at, mask } of m.flips) out[at] = out[at]! ^ mask;
      return out;
    }
    case 'insert': {
      const out = new Uint8Array(seed.length + m.bytes.length);
      out.set(seed.subarray(0, m.at), 0);
      out.set(m.bytes, m.at);
      out.set(seed.subarray(m.at), m.at + m.bytes.length);
      return out;
    }
    case 'set': {
      const out = seed.slice();
      const view = new DataView(out.buffer);
      const { at, width, littleEndian } = m.field;
      if (width === 2) view.setUint16(at, Math.min(m.value, 0xffff), littleEndian);
      else view.setUint32(at, m.value, littleEndian);
      return out;
    }
  }
}

/** A position in `length` bytes, half the time among the first `hot` (the headers). */
const position = (length: number, hot = 64) =>
  fc.oneof(fc.nat({ max: Math.min(length, hot) - 1 }), fc.nat({ max: length - 1 }));

const truncations = (seed: Uint8Array): fc.Arbitrary<Mutation> =>
  fc.nat({ max: seed.length - 1 }).map((at) => ({ kind: 'truncate', at }));

const flips = (seed: Uint8Array, hot?: number): fc.Arbitrary<Mutation> =>
  fc
    .array(fc.record({ at: position(seed.length, hot), mask: fc.integer({ min: 1, max: 255 }) }), {
      minLength: 1,
      maxLength: 3,
    })
    .map((f) => ({ kind: 'flip', flips: f }));

const insertions = (seed: Uint8Array): fc.Arbitrary<Mutation> =>
  fc
    .record({
      at: fc.oneof(fc.nat({ max: Math.min(seed.length, 64) }), fc.nat({ max: seed.length })),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    })
    .map(({ at, bytes }) => ({ kind: 'insert', at, bytes }));

const hugeSizes = (fields: readonly SizeField[]): fc.Arbitrary<Mutation> =>
  fc
    .record({ field: fc.constantFrom(...fields), value: fc.constantFrom(...HUGE) })
    .map(({ field, value }) => ({ kind: 'set', field, value }));

/** Every kind of byte damage: cut short, flipped, inserted into, or `fields` set to huge sizes. */
const anyDamage = (seed: Uint8Array, fields: readonly SizeField[] = []) =>
  fc.oneof(
    truncations(seed),
    flips(seed),
    insertions(seed),
    ...(fields.length ? [hugeSizes(fields)] : []),
  );

/** fast-check's settings: the fixed seed and `numRuns` cases. */
const runs = (numRuns: number) => ({ seed: SEED, numRuns });

// ---------------------------------------------------------------------------------------------
// JSON mutations

type JsonPath = readonly (string | number)[];

/** An edit of a JSON document: a field (or item) deleted or set to another value. */
interface JsonEdit {
  readonly path: JsonPath;
  readonly op: 'delete' | 'set';
  readonly value: unknown;
}

/** Stands for the literal `1e999` (Infinity once parsed), which JSON.stringify cannot write. */
const INFINITE = '\u0000aekit-fuzz:1e999\u0000';

/** Values of the wrong type. */
const WRONG_TYPES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  0.5,
  '',
  'x',
  '1',
  '..',
  [],
  [0],
  [-1, 2],
  {},
  { x: 1 },
];

/** Numbers beyond int32, uint32, float32, the safe integers, and Infinity. */
const HUGE_NUMBERS: readonly unknown[] = [
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32 - 1,
  2 ** 53 + 2,
  1e39,
  1e308,
  -1e308,
  INFINITE,
];

const jsonValues = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...WRONG_TYPES) },
  { weight: 2, arbitrary: fc.constantFrom(...HUGE_NUMBERS) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** Every path into `value` (the root is `[]`). */
function jsonPaths(value: unknown, prefix: JsonPath = []): JsonPath[] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const keys: (string | number)[] = Array.isArray(value)
    ? value.map((_, i) => i)
    : Object.keys(value);
  return [
    prefix,
    ...keys.flatMap((k) =>
      jsonPaths((value as Record<string | number, unknown>)[k], [...prefix, k]),
    ),
  ];
}

/** One to three edits of the paths `paths` (of the document to edit). */
const jsonEdits = (paths: readonly JsonPath[]): fc.Arbitrary<JsonEdit[]> =>
  fc.array(
    fc.record({
      path: fc.constantFrom(...paths),
      op: fc.oneof(
        { weight: 1, arbitrary: fc.constant('delete' as const) },
        { weight: 2, arbitrary: fc.constant('set' as const) },
      ),
      value: jsonValues,
    }),
    { minLength: 1, maxLength: 3 },
  );

function applyEdits(seed: unknown, edits: readonly JsonEdit[]): unknown {
  let root = structuredClone(seed);
  for (const { path, op, value } of edits) {
    if (path.length === 0) {
      root = op === 'delete' ? undefined : structuredClone(value);
      continue;
    }
    let parent: unknown = root;
    for (const key of path.slice(0, -1)) {
      parent = (parent as Record<string | number, unknown> | null | undefined)?.[key];
    }
    if (typeof parent !== 'object' || parent === null) continue;
    const key = path[path.length - 1]!;
    if (op === 'set') (parent as Record<string | number, unknown>)[key] = structuredClone(value);
    else if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
    else delete (parent as Record<string | number, unknown>)[key];
  }
  return root;
}

/** JSON text of `value`, with {@link INFINITE} written as `1e999` (and a deleted root as ``). */
const jsonText = (value: unknown): string =>
  (JSON.stringify(value) ?? '').replaceAll(JSON.stringify(INFINITE), '1e999');

const utf8 = (text: string) => new TextEncoder().encode(text);
const textOf = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** A file written for one case (each case overwrites it). */
function caseFile(name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

// ---------------------------------------------------------------------------------------------
// IDX

/** An IDX file: 0, 0, type, rank, the dimensions (uint32 BE), the values (BE). */
function idxFile(type: 0x08 | 0x0d, shape: readonly number[], values: ArrayLike<number>) {
  const size = type === 0x08 ? 1 : 4;
  const head = 4 + 4 * shape.length;
  const out = new Uint8Array(head + values.length * size);
  const view = new DataView(out.buffer);
  out.set([0, 0, type, shape.length]);
  for (const [i, d] of shape.entries()) view.setUint32(4 + 4 * i, d, false);
  for (let i = 0; i < values.length; i++) {
    if (type === 0x08) out[head + i] = values[i]!;
    else view.setFloat32(head + 4 * i, values[i]!, false);
  }
  return out;
}

/** IDX's value types (0x08 uint8 … 0x0e float64), read as the reader converts them. */
const IDX_VALUE: Record<number, { size: number; read: (v: DataView, at: number) => number }> = {
  8: { size: 1, read: (v, at) => v.getUint8(at) },
  9: { size: 1, read: (v, at) => v.getInt8(at) },
  11: { size: 2, read: (v, at) => v.getInt16(at, false) },
  12: { size: 4, read: (v, at) => v.getInt32(at, false) },
  13: { size: 4, read: (v, at) => Math.fround(v.getFloat32(at, false)) },
  14: { size: 8, read: (v, at) => Math.fround(v.getFloat64(at, false)) },
};

/** A successful read of IDX `bytes` (as the reader saw them) holds what they say. */
function checkIdx(bytes: Uint8Array, raw: RawArray): void {
  const type = IDX_VALUE[bytes[2]!];
  check(type !== undefined, `the value type 0x${bytes[2]?.toString(16)} is not one of IDX's`);
  const rank = bytes[3]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  checkShape('IDX', raw.shape);
  check(raw.shape.join() === dims.join(), `shape [${raw.shape}] is not the header's [${dims}]`);
  check(raw.data.length === product(raw.shape), 'the data length is not the shape product');
  check(raw.available === dims[0], `available is ${raw.available}, the header says ${dims[0]}`);
  check(raw.uint8 === (bytes[2] === 0x08), 'uint8 does not match the value type');
  const want = Float32Array.from(raw.data, (_, i) => type.read(view, 4 + 4 * rank + i * type.size));
  checkValues('IDX values', raw.data, want);
  if (!raw.integer) check(raw.data.every(Number.isFinite), 'a float value is not finite');
}

const IDX_SHAPE = [10, 4, 4];
const IDX_U8 = idxFile(
  0x08,
  IDX_SHAPE,
  Array.from({ length: 160 }, (_, i) => (i * 37) % 256),
);
const IDX_F32 = idxFile(
  0x0d,
  IDX_SHAPE,
  Array.from({ length: 160 }, (_, i) => i / 160 - 0.25),
);
const IDX_GZ = gzipSync(IDX_U8);
/** The three dimensions in the header. */
const IDX_FIELDS: readonly SizeField[] = [4, 8, 12].map((at) => ({
  at,
  width: 4 as const,
  littleEndian: false,
}));

describe('IDX', () => {
  const IDX_CODES = ['InvalidDataFile'] as const;
  const readPlain = (bytes: Uint8Array) =>
    attempt('IDX', IDX_CODES, () => readIdx(caseFile('case-idx3-ubyte', bytes)));

  for (const [name, seed] of [
    ['uint8', IDX_U8],
    ['float32', IDX_F32],
  ] as const) {
    it(`${name}: cut short, flipped, inserted into or with huge dimensions, it loads what it says or fails typed`, () => {
      fc.assert(
        fc.property(anyDamage(seed, IDX_FIELDS), (m) => {
          const bytes = mutate(seed, m);
          const out = readPlain(bytes);
          if (out.ok) checkIdx(bytes, out.value);
        }),
        runs(name === 'uint8' ? 500 : 250),
      );
    });
  }

  it('gzipped: damaged compressed bytes, or damaged IDX compressed, load what they say or fail typed', () => {
    const gz = fc.oneof(
      anyDamage(IDX_GZ).map((m) => ({ compressed: true, m })),
      anyDamage(IDX_U8, IDX_FIELDS).map((m) => ({ compressed: false, m })),
    );
    fc.assert(
      fc.property(gz, ({ compressed, m }) => {
        const bytes = compressed ? mutate(IDX_GZ, m) : gzipSync(mutate(IDX_U8, m));
        const path = caseFile('case.idx.gz', bytes);
        const out = attempt('IDX.gz', IDX_CODES, () => readDataFile(path));
        if (out.ok) checkIdx(gunzipSync(bytes), out.value);
      }),
      runs(300),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// NPY

const NPY_KINDS: Record<string, { size: number; read: (v: DataView, at: number) => number }> = {
  '<f4': { size: 4, read: (v, at) => v.getFloat32(at, true) },
  '<f8': { size: 8, read: (v, at) => Math.fround(v.getFloat64(at, true)) },
  '|u1': { size: 1, read: (v, at) => v.getUint8(at) },
  '<i4': { size: 4, read: (v, at) => Math.fround(v.getInt32(at, true)) },
  '<i8': { size: 8, read: (v, at) => Math.fround(Number(v.getBigInt64(at, true))) },
};

/** An NPY file of version `major` (1: uint16 header length; 2: uint32) with `header`. */
function npyFile(major: 1 | 2, header: string, body: Uint8Array): Uint8Array {
  const start = major === 1 ? 10 : 12;
  const padded = `${header}${' '.repeat((64 - ((start + header.length + 1) % 64)) % 64)}\n`;
  const out = new Uint8Array(start + padded.length + body.length);
  out.set([0x93, ...utf8('NUMPY'), major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, padded.length, true);
  else view.setUint32(8, padded.length, true);
  out.set(utf8(padded), start);
  out.set(body, start + padded.length);
  return out;
}

const npyHeader = (descr: string, shape: string) =>
  `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape}), }`;

const NPY_F32 = encodeNpy(
  Float32Array.from({ length: 160 }, (_, i) => i / 160),
  IDX_SHAPE,
);
const NPY_U8 = npyFile(
  2,
  npyHeader('|u1', '10, 4, 4'),
  Uint8Array.from({ length: 160 }, (_, i) => (i * 37) % 256),
);

/** A successful read of NPY `bytes` holds what their header and body say. */
function checkNpy(bytes: Uint8Array, raw: RawArray): void {
  checkShape('NPY', raw.shape);
  check(raw.data.length === product(raw.shape), 'the data length is not the shape product');
  check(raw.available === raw.shape[0], 'available is not the first dimension');
  if (!raw.integer) check(raw.data.every(Number.isFinite), 'a float value is not finite');
  else check(raw.data.every(Number.isInteger), 'an integer file holds a fraction');
  if (raw.uint8)
    check(
      raw.data.every((v) => v >= 0 && v <= 255),
      'a uint8 value is out of range',
    );
  // The values are the last bytes of the file, in the dtype its header names.
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(textOf(bytes.subarray(0, 512)))?.[1] ?? '';
  const kind = NPY_KINDS[descr];
  check(kind !== undefined, `dtype ${descr} is not one the reader takes`);
  const bodyAt = bytes.length - raw.data.length * kind.size;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const want = Float32Array.from(raw.data, (_, i) => kind.read(view, bodyAt + i * kind.size));
  checkValues('NPY values', raw.data, want);
}

describe('NPY', () => {
  const NPY_CODES = ['InvalidDataFile'] as const;
  const read = (bytes: Uint8Array) => {
    const out = attempt('NPY', NPY_CODES, () => readNpy(caseFile('case.npy', bytes)));
    if (out.ok) checkNpy(bytes, out.value);
  };

  it('version 1, float32: cut short, flipped, inserted into or with a huge header length, it loads what it says or fails typed', () => {
    const field = { at: 8, width: 2, littleEndian: true } as const;
    fc.assert(
      fc.property(anyDamage(NPY_F32, [field]), (m) => read(mutate(NPY_F32, m))),
      runs(500),
    );
  });

  it('version 2, uint8: the same, with a uint32 header length', () => {
    const field = { at: 8, width: 4, littleEndian: true } as const;
    fc.assert(
      fc.property(anyDamage(NPY_U8, [field]), (m) => read(mutate(NPY_U8, m))),
      runs(300),
    );
  });

  it('a header with another dtype or an odd, huge or negative shape loads what it says or fails typed', () => {
    const dims = fc.constantFrom(
      '10',
      '4',
      '16',
      '160',
      '0',
      '1',
      '-4',
      '-10',
      '-16',
      '0.5',
      '2.5',
      '320',
      '1e1',
      '2147483648',
      '4294967295',
      '9007199254740993',
      '1e999',
      'nan',
      '',
      'x',
    );
    const header = fc.record({
      major: fc.constantFrom(1 as const, 2 as const),
      descr: fc.constantFrom('<f4', '<f8', '|u1', '<i4', '<i8', '>f4', '<f2', '|b1', ''),
      shape: fc.array(dims, { maxLength: 4 }),
      trailingComma: fc.boolean(),
    });
    const body = NPY_F32.subarray(NPY_F32.length - 640);
    fc.assert(
      fc.property(header, ({ major, descr, shape, trailingComma }) => {
        const text = shape.join(', ') + (trailingComma ? ',' : '');
        read(npyFile(major, npyHeader(descr, text), body));
      }),
      runs(300),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// CSV

const CSV_TEXT = encodeCsv(
  Float32Array.from({ length: 160 }, (_, i) => ((i * 7) % 13) / 4),
  16,
);
const CSV_WITH_HEADER = `${Array.from({ length: 16 }, (_, i) => `f${i}`).join(',')}\n${CSV_TEXT}`;

/**
 * A successful read of CSV `text` holds finite values, as many as its shape says; when the
 * text is plain (digits, signs, points, commas and newlines, nothing csv-parse treats
 * specially), they are the numbers of its cells.
 */
function checkCsv(text: string, raw: RawArray): void {
  const [rows, width] = raw.shape as [number, number];
  check(raw.shape.length === 2 && rows >= 1 && width >= 1, `shape [${raw.shape}] is not 2-D`);
  check(raw.data.length === rows * width, 'the data length is not the shape product');
  check(raw.data.every(Number.isFinite), 'a value is not finite');
  if (raw.integer) check(raw.data.every(Number.isInteger), 'integer but holds a fraction');
  if (!/^[0-9.eE+\-,\n]*$/.test(text)) return;
  const lines = text.split('\n').filter((l) => l !== '');
  const cells = lines.slice(raw.header ? 1 : 0).flatMap((l) => l.split(','));
  checkValues('CSV values', raw.data, Float32Array.from(cells, Number));
}

describe('CSV', () => {
  const CSV_CODES = ['InvalidDataFile'] as const;
  const read = (text: Uint8Array | string) => {
    const path = caseFile('case.csv', text);
    const out = attempt('CSV', CSV_CODES, () => readCsv(path));
    if (out.ok) checkCsv(typeof text === 'string' ? text : textOf(text), out.value);
  };

  for (const [name, seed] of [
    ['without a header', utf8(CSV_TEXT)],
    ['with a header', utf8(CSV_WITH_HEADER)],
  ] as const) {
    it(`${name}: cut short, flipped or inserted into, it loads its numbers or fails typed`, () => {
      fc.assert(
        fc.property(anyDamage(seed), (m) => read(mutate(seed, m))),
        runs(275),
      );
    });
  }

  it('cells that are empty, not numbers, NaN, infinite or beyond float32, or rows of other widths, load their numbers or fail typed', () => {
    const rows = CSV_WITH_HEADER.trimEnd().split('\n');
    const cell = fc.constantFrom(
      '',
      ' ',
      'nan',
      'NaN',
      'inf',
      '-inf',
      'Infinity',
      '1e39',
      '-1e39',
      '3.4e38',
      '1e999',
      '0x1F',
      '1_000',
      '"2"',
      '"',
      'a',
      ' 7 ',
      '1,2',
      '\t',
      '١',
    );
    const edit = fc.record({
      row: fc.nat({ max: rows.length - 1 }),
      column: fc.nat({ max: 16 }),
      cell,
    });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        const table = rows.map((r) => r.split(','));
        for (const { row, column, cell: value } of edits) table[row]![column] = value;
        read(`${table.map((r) => r.join(',')).join('\n')}\n`);
      }),
      runs(250),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// .aehash

const HASH_BITS = 12;
const HASH_COUNT = 10;
const HASH_SEED_INDEX = createHashIndex(
  packBits(
    Array.from({ length: HASH_BITS * HASH_COUNT }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0)),
    HASH_BITS,
  ),
  {
    ids: Array.from({ length: HASH_COUNT }, (_, i) => `item-${i}`),
    labels: Array.from({ length: HASH_COUNT }, (_, i) => i % 4),
    meta: { run: 'fuzz', bits: HASH_BITS },
  },
);
const HASH_V2 = serializeHashIndex(HASH_SEED_INDEX);

/** The parts of an `aekit-hash/2` file: its JSON header and the codes and labels after it. */
function hashParts(bytes: Uint8Array): { header: unknown; body: Uint8Array } {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(10, true);
  const bodyAt = (14 + length + 3) & ~3;
  return {
    header: JSON.parse(textOf(bytes.subarray(14, 14 + length))),
    body: bytes.subarray(bodyAt, bytes.length - 4),
  };
}

/** An `aekit-hash/2` (or `/1`) file of `headerText` and `body`, with its checksum. */
function hashFile(version: 1 | 2, headerText: string, body: Uint8Array): Uint8Array {
  const header = utf8(headerText);
  const bodyAt = (14 + header.length + 3) & ~3;
  const out = new Uint8Array(bodyAt + body.length + (version === 2 ? 4 : 0));
  out.set(utf8(`AEKITHASH${version}`));
  new DataView(out.buffer).setUint32(10, header.length, true);
  out.set(header, 14);
  out.set(body, bodyAt);
  if (version === 2) resignHash(out);
  return out;
}

/** Writes the CRC-32 of an `aekit-hash/2` file's content into its last 4 bytes. */
function resignHash(bytes: Uint8Array): Uint8Array {
  const at = bytes.length - 4;
  if (at >= 0)
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, crc32(bytes.subarray(0, at)), true);
  return bytes;
}

const SEED_HASH = hashParts(HASH_V2);
const HASH_V1 = hashFile(
  1,
  jsonText({ ...(SEED_HASH.header as object), format: 'aekit-hash/1' }),
  SEED_HASH.body,
);

/**
 * A successful read of an index is self-consistent: valid packed codes, one id and label per
 * code, a plain-object meta; and its codes and labels are the file's words.
 */
function checkHashIndex(bytes: Uint8Array, index: HashIndex): void {
  const { bits, count, data } = index.codes;
  try {
    validatePackedCodes(index.codes, 'codes', false);
  } catch (err) {
    check(false, `its codes are not valid: ${show(err)}`);
  }
  check(data.length === count * codeWords(bits), 'the codes are not count × words long');
  check(index.ids === undefined || index.ids.length === count, 'not one id per code');
  check(index.ids?.every((id) => typeof id === 'string') ?? true, 'an id is not a string');
  check(index.labels === undefined || index.labels.length === count, 'not one label per code');
  check(
    typeof index.meta === 'object' && index.meta !== null && !Array.isArray(index.meta),
    'meta',
  );
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(10, true);
  const words = new DataView(bytes.buffer, bytes.byteOffset + ((14 + length + 3) & ~3));
  checkValues(
    'codes',
    data,
    Uint32Array.from(data, (_, i) => words.getUint32(4 * i, true)),
  );
  if (index.labels) {
    const at = 4 * data.length;
    const want = Int32Array.from(index.labels, (_, i) => words.getInt32(at + 4 * i, true));
    checkValues('labels', index.labels, want);
  }
}

/** An `aekit-hash/2` file loads only as written: the CRC-32 covers every byte. */
function checkHashV2(bytes: Uint8Array, index: HashIndex): void {
  check(equalBytes(bytes, HASH_V2), 'the bytes differ from those written, under a CRC-32');
  checkValues('codes', index.codes.data, HASH_SEED_INDEX.codes.data);
}

describe('.aehash hash index', () => {
  const HASH_CODES = ['InvalidHashIndex'] as const;
  const parse = (bytes: Uint8Array) =>
    attempt('.aehash', HASH_CODES, () => parseHashIndex(bytes, 'case.aehash'));
  const HEADER_LENGTH = { at: 10, width: 4, littleEndian: true } as const;

  it('aekit-hash/2: cut short, flipped, inserted into or with a huge header length, it loads only as written', () => {
    fc.assert(
      fc.property(anyDamage(HASH_V2, [HEADER_LENGTH]), (m) => {
        const bytes = mutate(HASH_V2, m);
        const out = parse(bytes);
        if (out.ok) checkHashV2(bytes, out.value);
      }),
      runs(400),
    );
  });

  it('aekit-hash/2 with a huge header length and a checksum that matches it loads what it says or fails typed', () => {
    fc.assert(
      fc.property(hugeSizes([HEADER_LENGTH]), (m) => {
        const bytes = resignHash(mutate(HASH_V2, m));
        const out = parse(bytes);
        if (out.ok) checkHashIndex(bytes, out.value);
      }),
      runs(50),
    );
  });

  it('aekit-hash/1 (no checksum): cut short, flipped, inserted into or with a huge header length, it loads what it says or fails typed', () => {
    fc.assert(
      fc.property(anyDamage(HASH_V1, [HEADER_LENGTH]), (m) => {
        const bytes = mutate(HASH_V1, m);
        const out = parse(bytes);
        if (out.ok) checkHashIndex(bytes, out.value);
      }),
      runs(300),
    );
  });

  it('a header with fields deleted or of the wrong type or size (checksum recomputed) loads what it says or fails typed', () => {
    const version = fc.constantFrom(1 as const, 2 as const);
    fc.assert(
      fc.property(version, jsonEdits(jsonPaths(SEED_HASH.header)), (v, edits) => {
        const header = applyEdits(
          v === 1 ? { ...(SEED_HASH.header as object), format: 'aekit-hash/1' } : SEED_HASH.header,
          edits,
        );
        const bytes = hashFile(v, jsonText(header), SEED_HASH.body);
        const out = parse(bytes);
        if (out.ok) checkHashIndex(bytes, out.value);
      }),
      runs(300),
    );
  });

  it('loadHashIndex (@aekit/runtime-web) reads a damaged file only as written, within the time limit', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(truncations(HASH_V2), flips(HASH_V2)), async (m) => {
        const bytes = mutate(HASH_V2, m);
        const path = caseFile('case.aehash', bytes);
        const out = await attemptAsync('.aehash (loadHashIndex)', HASH_CODES, () =>
          loadHashIndex(path),
        );
        if (out.ok) checkHashV2(bytes, out.value);
      }),
      runs(100),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// aekit.json

/** An `aekit.json` as `aekit export` writes one, with every optional part. */
const METADATA = {
  format: 'aekit-onnx/1',
  variant: 'gsn',
  inputShape: [4, 4, 1],
  codingShape: [2],
  normalization: { kind: 'unit', scale: 1 / 255, offset: 0 },
  outputActivation: 'sigmoid',
  capabilities: ['sample', 'hash'],
  sampler: { kind: 'chain', noise: 'gaussian', noiseStd: 0.1, noiseRate: 0, steps: 5 },
  classes: [0, 1, 2],
  graphs: {
    encoder: { file: 'encoder.onnx', input: 'input', output: 'codings' },
    decoder: { file: 'decoder.onnx', input: 'codings', output: 'reconstruction' },
    autoencoder: {
      file: 'autoencoder.onnx',
      input: 'input',
      output: 'reconstruction',
      extraOutputs: ['log_variance'],
    },
  },
  aekitVersion: '0.1.0',
};

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStrings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');

/**
 * Metadata the runtime accepted is usable: the documented fields have their documented
 * types, shapes are positive integers, every number is finite (as the run's own schema in
 * @aekit/core requires), and graph files are names in the model folder.
 */
function checkMetadata(m: ReturnType<typeof parseMetadata>): void {
  check(m.format === 'aekit-onnx/1', 'format is not aekit-onnx/1');
  for (const key of ['inputShape', 'codingShape'] as const) {
    const shape = m[key];
    check(Array.isArray(shape) && shape.length > 0, `${key} is not a non-empty array`);
    check(
      shape.every((d) => isDim(d) && d > 0),
      `${key} [${shape}] has a dimension that is not a positive safe integer`,
    );
    check(Number.isSafeInteger(product(shape)), `${key} [${shape}] is too big`);
  }
  for (const key of ['variant', 'outputActivation', 'aekitVersion'] as const) {
    check(m[key] === undefined || typeof m[key] === 'string', `${key} is not a string`);
  }
  check(isStrings(m.capabilities), 'capabilities is not an array of strings');
  if (m.normalization !== undefined) {
    const { kind, scale, offset } = m.normalization;
    check(typeof kind === 'string', 'normalization.kind is not a string');
    for (const [name, v] of [
      ['scale', scale],
      ['offset', offset],
    ] as const) {
      check(
        isFiniteNumber(v) || (Array.isArray(v) && v.every(isFiniteNumber)),
        `normalization.${name} (${Array.isArray(v) ? `[${v}]` : v}) is not a finite number or array of them`,
      );
    }
  }
  if (m.sampler !== undefined) {
    const s = m.sampler;
    check(
      s.kind === 'prior' ||
        (s.kind === 'chain' &&
          isFiniteNumber(s.noiseStd) &&
          s.noiseStd >= 0 &&
          isFiniteNumber(s.noiseRate) &&
          s.noiseRate >= 0 &&
          s.noiseRate < 1 &&
          Number.isSafeInteger(s.steps) &&
          s.steps > 0),
      'the sampler is not valid',
    );
  }
  if (m.classes !== undefined) {
    check(
      m.classes.every((c) => Number.isSafeInteger(c)),
      'a class is not an integer',
    );
  }
  for (const [role, g] of Object.entries(m.graphs ?? {})) {
    check(
      typeof g.file === 'string' && typeof g.input === 'string' && typeof g.output === 'string',
      `graphs.${role} is not { file, input, output }`,
    );
    check(
      /^[^/\\]+$/.test(g.file) && g.file !== '.' && g.file !== '..',
      `graphs.${role}.file is a path`,
    );
    check(g.extraOutputs === undefined || isStrings(g.extraOutputs), `graphs.${role}.extraOutputs`);
  }
}

describe('aekit.json', () => {
  const META_CODES = ['ModelLoadFailed'] as const;

  it('the seed is what the exported-model contract of @aekit/core describes', () => {
    parseExportedModel(METADATA, 'seed');
  });

  it('with fields deleted or of the wrong type or size, parseMetadata returns usable metadata or fails typed', () => {
    fc.assert(
      fc.property(jsonEdits(jsonPaths(METADATA)), (edits) => {
        // Through JSON, as the file is read: 1e999 becomes Infinity, a deleted root nothing.
        const text = jsonText(applyEdits(METADATA, edits));
        const value: unknown = text === '' ? undefined : JSON.parse(text);
        const out = attempt('aekit.json', META_CODES, () => parseMetadata(value, 'case'));
        if (out.ok) checkMetadata(out.value);
      }),
      runs(400),
    );
  });

  it('damaged bytes of a model folder’s aekit.json fail loadAutoencoder typed, naming aekit.json only when it is not valid', async () => {
    // parseMetadataText is not exported: the folder reader of loadAutoencoder is its one
    // caller. The folder has no graphs, so a load reads aekit.json, then fails on the
    // missing encoder, before ONNX Runtime is started.
    const folder = join(dir, 'model-folder');
    mkdirSync(folder, { recursive: true });
    const seed = utf8(`${JSON.stringify(METADATA, null, 2)}\n`);
    await fc.assert(
      fc.asyncProperty(anyDamage(seed), async (m) => {
        const bytes = mutate(seed, m);
        writeFileSync(join(folder, 'aekit.json'), bytes);
        let valid = true;
        try {
          parseMetadata(JSON.parse(textOf(bytes)), 'case');
        } catch {
          valid = false;
        }
        let message = '';
        const out = await attemptAsync('aekit.json (loadAutoencoder)', META_CODES, () =>
          loadAutoencoder(folder).catch((err: unknown) => {
            message = (err as Error).message;
            throw err;
          }),
        );
        check(!out.ok, 'a folder without ONNX graphs loaded');
        if (valid)
          check(!/aekit\.json is not/.test(message), `valid aekit.json refused: ${message}`);
      }),
      runs(200),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The run: manifest, saved networks, checkpoint

/** A finished one-epoch run of a tiny stacked autoencoder on 10 samples of 4 × 4. */
let RUN = '';
let SEED_MANIFEST: RunManifest;
let SEED_MANIFEST_TEXT = '';
let CHECKPOINT = new Uint8Array();

beforeAll(async () => {
  const data = join(dir, 'samples.npy');
  writeFileSync(data, NPY_F32);
  RUN = join(dir, 'run');
  await train({
    variant: 'stacked',
    data,
    epochs: 1,
    batchSize: 5,
    validationSplit: 0.2,
    backend: 'cpu',
    figures: false,
    seed: 7,
    options: { layers: '8,2' },
    out: RUN,
  });
  SEED_MANIFEST_TEXT = readFileSync(join(RUN, 'manifest.json'), 'utf8');
  SEED_MANIFEST = JSON.parse(SEED_MANIFEST_TEXT);
  CHECKPOINT = new Uint8Array(readFileSync(join(RUN, 'checkpoints', 'last.ckpt')));
});

describe('run manifest', () => {
  const MANIFEST_CODES = ['InvalidManifest'] as const;
  /** readManifest on `text`: a manifest the run schema accepts, or a typed failure. */
  const read = (text: Uint8Array | string) => {
    const folder = join(dir, 'manifest-only');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'manifest.json'), text);
    const out = attempt('manifest', MANIFEST_CODES, () => new RunDirectory(folder).readManifest());
    if (out.ok) {
      const parsed = manifestSchema.safeParse(
        JSON.parse(typeof text === 'string' ? text : textOf(text)),
      );
      check(parsed.success, 'the manifest does not match the run schema');
      check(jsonText(parsed.data) === jsonText(out.value), 'the manifest read is not the file');
    }
  };

  it('cut short, flipped or inserted into, it reads as a valid manifest or fails typed', () => {
    const seed = utf8(SEED_MANIFEST_TEXT);
    fc.assert(
      fc.property(anyDamage(seed), (m) => read(mutate(seed, m))),
      runs(250),
    );
  });

  it('with fields deleted or of the wrong type or size, it reads as a valid manifest or fails typed', () => {
    fc.assert(
      fc.property(jsonEdits(jsonPaths(SEED_MANIFEST)), (edits) =>
        read(jsonText(applyEdits(SEED_MANIFEST, edits))),
      ),
      runs(300),
    );
  });
});

/** The float32 values of `bytes`. */
const floats = (bytes: Uint8Array) =>
  new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));

/** The weights of `net`, flattened in order. */
function weightsOf(net: { getWeights(): { dataSync(): ArrayLike<number> }[] }): number[] {
  return net.getWeights().flatMap((w) => Array.from(w.dataSync()));
}

describe('saved networks (model.json + weights.bin) through loadRunModel', () => {
  const MODEL_CODES = ['CorruptRunFile', 'CheckpointMismatch'] as const;
  const FILES = [
    'model/encoder/model.json',
    'model/encoder/weights.bin',
    'model/decoder/weights.bin',
    'model/decoder/model.json',
  ];
  let signed = '';
  let unsigned = '';

  beforeAll(() => {
    // A copy of the run whose manifest records each file's sha256, as aekit writes it, and
    // one without the records (a run written before they existed), whose model files are
    // read unchecked.
    signed = join(dir, 'run-signed');
    unsigned = join(dir, 'run-unsigned');
    cpSync(RUN, signed, { recursive: true });
    cpSync(RUN, unsigned, { recursive: true });
    const { files: _, ...withoutRecords } = SEED_MANIFEST;
    writeFileSync(join(unsigned, 'manifest.json'), JSON.stringify(withoutRecords));
  });

  /** loadRunModel after writing `bytes` to `file` of the run `root`; the file is restored after. */
  function load(
    root: string,
    file: string,
    bytes: Uint8Array | string,
    verify: (loaded: ReturnType<typeof loadRunModel>) => void,
  ) {
    const path = join(root, file);
    const original = readFileSync(path);
    writeFileSync(path, bytes);
    try {
      const out = attempt('model files', MODEL_CODES, () => loadRunModel(new RunDirectory(root)));
      if (out.ok) {
        try {
          verify(out.value);
        } finally {
          for (const net of Object.values(out.value.model.networks)) net.dispose();
        }
      }
    } finally {
      writeFileSync(path, original);
    }
  }

  /** Every network holds the float32 values of its weights.bin, in order. */
  const holdsItsFiles = (root: string) => (loaded: ReturnType<typeof loadRunModel>) => {
    for (const [name, net] of Object.entries(loaded.model.networks)) {
      const bin = readFileSync(join(root, 'model', name, 'weights.bin'));
      checkValues(`${name} weights`, weightsOf(net), floats(bin));
    }
  };

  it('the seed run loads, its networks holding its weights.bin', () => {
    load(signed, FILES[0]!, readFileSync(join(RUN, FILES[0]!)), holdsItsFiles(signed));
  });

  it('under the manifest’s sha256 records, a damaged file never loads', () => {
    const damage = fc.constantFrom(...FILES).chain((file) => {
      const seed = new Uint8Array(readFileSync(join(RUN, file)));
      return anyDamage(seed).map((m) => ({ file, seed, bytes: mutate(seed, m) }));
    });
    fc.assert(
      fc.property(damage, ({ file, seed, bytes }) =>
        load(signed, file, bytes, () =>
          check(equalBytes(bytes, seed), `${file} changed, under the manifest's sha256`),
        ),
      ),
      runs(120),
    );
  });

  it('without records, damaged bytes load as the weights they hold or fail typed', () => {
    const damage = fc.constantFrom(...FILES).chain((file) => {
      const seed = new Uint8Array(readFileSync(join(RUN, file)));
      return anyDamage(seed).map((m) => ({ file, bytes: mutate(seed, m) }));
    });
    fc.assert(
      fc.property(damage, ({ file, bytes }) =>
        load(unsigned, file, bytes, holdsItsFiles(unsigned)),
      ),
      runs(150),
    );
  });

  it('without records, a model.json with fields deleted or of the wrong type or size loads as its weights.bin or fails typed', () => {
    const seedJson = JSON.parse(readFileSync(join(RUN, FILES[0]!), 'utf8'));
    // The weight list is what the loader reads; the topology is rebuilt from the manifest.
    const paths = jsonPaths(seedJson).filter((p) => p[0] !== 'modelTopology' || p.length === 1);
    const edit = fc.record({
      file: fc.constantFrom(FILES[0]!, FILES[3]!),
      edits: jsonEdits(paths),
    });
    fc.assert(
      fc.property(edit, ({ file, edits }) => {
        const json = JSON.parse(readFileSync(join(RUN, file), 'utf8'));
        load(unsigned, file, jsonText(applyEdits(json, edits)), holdsItsFiles(unsigned));
      }),
      runs(200),
    );
  });
});

describe('checkpoint (checkpoints/last.ckpt) through readCheckpoint', () => {
  const CHECKPOINT_CODES = ['CorruptRunFile', 'CheckpointMismatch'] as const;
  const MAGIC_BYTES = 10;
  const SHA_BYTES = 32;
  let work = '';
  let networks: ReturnType<typeof loadRunModel>['model']['networks'];
  let v1 = new Uint8Array();
  let seedHeader: unknown;
  let seedBody = new Uint8Array();

  beforeAll(() => {
    work = join(dir, 'run-checkpoint');
    cpSync(RUN, work, { recursive: true });
    networks = loadRunModel(new RunDirectory(RUN)).model.networks;
    // Version 1: the same without the sha256 (still read, unchecked).
    v1 = new Uint8Array(CHECKPOINT.length - SHA_BYTES);
    v1.set(utf8('AEKITCKPT1'));
    v1.set(CHECKPOINT.subarray(MAGIC_BYTES + SHA_BYTES), MAGIC_BYTES);
    const at = MAGIC_BYTES + SHA_BYTES;
    const length = new DataView(CHECKPOINT.buffer).getUint32(at, true);
    seedHeader = JSON.parse(textOf(CHECKPOINT.subarray(at + 4, at + 4 + length)));
    seedBody = CHECKPOINT.subarray(at + 4 + length);
  });

  afterAll(() => {
    for (const net of Object.values(networks ?? {})) net.dispose();
  });

  /** A checkpoint of `headerText` and `body`: version 2 with its sha256, or version 1. */
  function checkpointFile(version: 1 | 2, headerText: string, body: Uint8Array): Uint8Array {
    const header = utf8(headerText);
    const at = version === 2 ? MAGIC_BYTES + SHA_BYTES : MAGIC_BYTES;
    const out = new Uint8Array(at + 4 + header.length + body.length);
    out.set(utf8(`AEKITCKPT${version}`));
    new DataView(out.buffer).setUint32(at, header.length, true);
    out.set(header, at + 4);
    out.set(body, at + 4 + header.length);
    if (version === 2) resignCheckpoint(out);
    return out;
  }

  function resignCheckpoint(bytes: Uint8Array): Uint8Array {
    const at = MAGIC_BYTES + SHA_BYTES;
    bytes.set(createHash('sha256').update(bytes.subarray(at)).digest(), MAGIC_BYTES);
    return bytes;
  }

  /**
   * A checkpoint that loaded holds a valid state (a completed epoch, the best validation
   * loss or null, a count of epochs), shapes that are shapes, and each network now holds
   * the values the file lists for it, in order.
   */
  function checkLoaded(bytes: Uint8Array, state: Awaited<ReturnType<typeof readCheckpoint>>) {
    const { epoch, bestValLoss, epochsWithoutImprovement } = state;
    check(Number.isSafeInteger(epoch) && epoch >= 1, `its epoch is ${epoch}`);
    check(bestValLoss === null || isFiniteNumber(bestValLoss), `its bestValLoss is ${bestValLoss}`);
    check(
      Number.isSafeInteger(epochsWithoutImprovement) && epochsWithoutImprovement >= 0,
      `its epochsWithoutImprovement is ${epochsWithoutImprovement}`,
    );
    const at =
      textOf(bytes.subarray(0, MAGIC_BYTES)) === 'AEKITCKPT2'
        ? MAGIC_BYTES + SHA_BYTES
        : MAGIC_BYTES;
    const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(at, true);
    const header = JSON.parse(textOf(bytes.subarray(at + 4, at + 4 + length))) as {
      tensors: { group: string; shape: number[] }[];
    };
    const body = floats(bytes.subarray(at + 4 + length));
    const want = new Map<string, number[]>();
    let offset = 0;
    for (const { group, shape } of header.tensors) {
      checkShape('a tensor', shape);
      const size = product(shape);
      if (group in networks)
        want.set(group, [...(want.get(group) ?? []), ...body.subarray(offset, offset + size)]);
      offset += size;
    }
    for (const [name, net] of Object.entries(networks)) {
      checkValues(`${name} weights`, weightsOf(net), want.get(name) ?? []);
    }
  }

  async function read(bytes: Uint8Array) {
    writeFileSync(join(work, 'checkpoints', 'last.ckpt'), bytes);
    const optimizer = createOptimizer(
      SEED_MANIFEST.training.optimizer,
      SEED_MANIFEST.training.learningRate,
    );
    try {
      return await attemptAsync('checkpoint', CHECKPOINT_CODES, () =>
        readCheckpoint(new RunDirectory(work), networks, { optimizer }),
      );
    } finally {
      optimizer.dispose();
    }
  }

  it('the seed checkpoint loads in both versions', async () => {
    for (const bytes of [CHECKPOINT, v1]) {
      const out = await read(bytes);
      check(out.ok, 'the seed did not load');
      checkLoaded(bytes, out.value);
    }
  });

  it('version 2: cut short, flipped, inserted into or with a huge header length, it loads only as written', async () => {
    const field = { at: MAGIC_BYTES + SHA_BYTES, width: 4, littleEndian: true } as const;
    await fc.assert(
      fc.asyncProperty(anyDamage(CHECKPOINT, [field]), async (m) => {
        const bytes = mutate(CHECKPOINT, m);
        const out = await read(bytes);
        // Only the magic is outside the sha256, and no other magic loads.
        if (out.ok) check(equalBytes(bytes, CHECKPOINT), 'the bytes differ, under a sha256');
      }),
      runs(200),
    );
  });

  it('version 1 (no checksum): cut short, flipped, inserted into or with a huge header length, it loads what it holds or fails typed', async () => {
    const field = { at: MAGIC_BYTES, width: 4, littleEndian: true } as const;
    await fc.assert(
      fc.asyncProperty(anyDamage(v1, [field]), async (m) => {
        const bytes = mutate(v1, m);
        const out = await read(bytes);
        if (out.ok) checkLoaded(bytes, out.value);
      }),
      runs(200),
    );
  });

  it('a header with fields deleted or of the wrong type or size (sha256 recomputed) loads what it holds or fails typed', async () => {
    const version = fc.constantFrom(1 as const, 2 as const);
    await fc.assert(
      fc.asyncProperty(version, jsonEdits(jsonPaths(seedHeader)), async (v, edits) => {
        const bytes = checkpointFile(v, jsonText(applyEdits(seedHeader, edits)), seedBody);
        const out = await read(bytes);
        if (out.ok) checkLoaded(bytes, out.value);
      }),
      runs(250),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Writers

describe('writeAtomic', () => {
  const name = fc.stringMatching(/^[a-z0-9_-][a-z0-9._-]{0,15}$/);
  const data = fc.oneof(fc.string({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }));

  it('to a path it cannot write throws CannotWrite and leaves nothing beside it', () => {
    const where = fc.record({
      blocker: fc.constantFrom('folder at the path' as const, 'file for a folder' as const),
      name,
      below: fc.array(name, { maxLength: 2 }),
      data,
    });
    let n = 0;
    fc.assert(
      fc.property(where, ({ blocker, name: leaf, below, data: content }) => {
        const parent = join(dir, 'writes', `case-${n++}`);
        mkdirSync(parent, { recursive: true });
        const blocking = join(parent, leaf);
        let target: string;
        if (blocker === 'folder at the path') {
          mkdirSync(blocking);
          writeFileSync(join(blocking, 'kept'), 'kept');
          target = blocking;
        } else {
          writeFileSync(blocking, 'kept');
          target = join(blocking, ...below, 'out.bin');
        }
        const before = readdirSync(parent).sort();
        const out = attempt('writeAtomic', ['CannotWrite'], () => writeAtomic(target, content));
        check(!out.ok, `writeAtomic wrote ${target} through a ${blocker}`);
        check(
          readdirSync(parent).sort().join() === before.join(),
          `${parent} now holds ${readdirSync(parent)}`,
        );
        if (blocker === 'folder at the path') {
          check(
            readdirSync(blocking).join() === 'kept',
            `the folder now holds ${readdirSync(blocking)}`,
          );
        } else {
          check(
            statSync(blocking).isFile() && readFileSync(blocking, 'utf8') === 'kept',
            'the file changed',
          );
        }
        rmSync(parent, { recursive: true, force: true });
      }),
      runs(100),
    );
  });
});
