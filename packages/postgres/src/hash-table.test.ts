import {
  codeAt,
  codeWords,
  createHashIndex,
  createRng,
  type PackedCodes,
  packedCodesFromWords,
  searchNearest,
  searchRadius,
} from '@aekit/core';
import { type AekitError, isAekitError } from '@aekit/core/errors';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, POSTGRESQL } from '../../core/src/test-utils/requirements.js';
import { type HashTable, openHashTable } from './hash-table.js';
import type { HashItem } from './load.js';
import { startTemporaryPostgres, type TemporaryPostgres } from './temporary-postgres.js';

/**
 * `count` codes of `bits` bits around a few random centres (each centre with up to 6 bits
 * flipped), so that radius queries find several items and ties (equal codes) occur.
 */
function clusteredCodes(bits: number, count: number, seed: number): PackedCodes {
  const rng = createRng(seed, 'postgres-test');
  const words = codeWords(bits);
  const top = bits % 32 === 0 ? 0xffffffff : 2 ** (bits % 32) - 1;
  const centres = Array.from({ length: 4 }, () =>
    Uint32Array.from({ length: words }, (_, w) =>
      w === words - 1 ? Math.floor(rng() * 2 ** 32) & top : Math.floor(rng() * 2 ** 32),
    ),
  );
  const data = new Uint32Array(count * words);
  for (let i = 0; i < count; i++) {
    data.set(centres[Math.floor(rng() * centres.length)]!, i * words);
    for (let f = Math.floor(rng() * 7); f > 0; f--) {
      const j = Math.floor(rng() * bits);
      data[i * words + (j >>> 5)]! ^= 1 << (j & 31);
    }
  }
  return packedCodesFromWords(data, bits);
}

const itemsOf = (codes: PackedCodes, ids = (i: number) => `id-${i}`): HashItem[] =>
  Array.from({ length: codes.count }, (_, i) => ({
    id: ids(i),
    label: i % 7,
    code: codeAt(codes, i),
  }));

/** Expects the table's answers to equal core's in-memory ones for `query`. */
async function expectSameAsMemory(
  table: HashTable,
  codes: PackedCodes,
  query: Uint32Array,
  radius: number,
  k: number,
): Promise<void> {
  const index = createHashIndex(codes);
  const byRadius = await table.searchRadius(query, radius);
  const exact = searchRadius(index, query, radius);
  expect(byRadius.items).toEqual(Array.from(exact.indices));
  expect(byRadius.distances).toEqual(exact.distances);
  expect(byRadius.ids).toEqual(byRadius.items.map((i) => `id-${i}`));
  expect(byRadius.candidates).toBeGreaterThanOrEqual(byRadius.items.length);
  const nearest = await table.searchNearest(query, k);
  const exactNearest = searchNearest(index, query, k);
  expect(nearest.items).toEqual(Array.from(exactNearest.indices));
  expect(nearest.distances).toEqual(exactNearest.distances);
}

const expectRejectsWith = async (promise: Promise<unknown>, code: string): Promise<AekitError> => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isAekitError(err) && err.code === code ? code : err).toBe(code);
  return err as AekitError;
};

describe.skipIf(missing(POSTGRESQL))('hash tables in PostgreSQL', () => {
  let server: TemporaryPostgres;
  let url: string;
  let tables = 0;
  /** A fresh table name. */
  const name = (): string => `codes_${tables++}`;
  const open = (bits: number, substrings?: number): Promise<HashTable> =>
    openHashTable(url, { table: name(), bits, ...(substrings ? { substrings } : {}) });

  beforeAll(async () => {
    server = await startTemporaryPostgres();
    url = server.url;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers radius and k-nearest queries exactly as the in-memory index', async () => {
    // Each run creates, loads and queries a table: ~0.1-0.3 s (most of it the VACUUM after a load); 8 runs per width.
    for (const bits of [30, 64, 100]) {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 400 }),
          fc.integer(),
          fc.integer({ min: Math.ceil(bits / 31), max: 7 }),
          fc.integer({ min: 0, max: 10 }),
          fc.integer({ min: 0, max: 30 }),
          async (count, seed, substrings, radius, k) => {
            const codes = clusteredCodes(bits, count, seed);
            const table = await open(bits, substrings);
            try {
              await table.load(itemsOf(codes), { batchSize: 128 });
              const queries = [codeAt(codes, 0), codeAt(clusteredCodes(bits, 1, seed + 1), 0)];
              for (const query of queries) {
                await expectSameAsMemory(table, codes, query, radius, k);
              }
            } finally {
              await table.close();
            }
          },
        ),
        { numRuns: 8 },
      );
    }
  });

  it('sizes its substrings for the expected items, and reports the steps of a load', async () => {
    const codes = clusteredCodes(30, 300, 13);
    // 10M items: one 30-bit substring (log2(1e7) = 23.3 bits); 1,000: three of 10.
    const big = await openHashTable(url, { table: name(), bits: 30, expectedItems: 1e7 });
    const small = await openHashTable(url, { table: name(), bits: 30, expectedItems: 1000 });
    try {
      expect(big.layout.substrings).toEqual([{ start: 0, length: 30 }]);
      expect(small.layout.substrings.map((s) => s.length)).toEqual([10, 10, 10]);
      const steps: string[] = [];
      await big.load(itemsOf(codes), { batchSize: 100, onStep: (step) => steps.push(step) });
      expect(steps).toEqual(['indexes', 'vacuum', 'done']);
      await small.load(itemsOf(codes));
      for (const table of [big, small]) {
        await expectSameAsMemory(table, codes, codeAt(codes, 1), 4, 12);
      }
      const reopened = await openHashTable(url, { table: big.table, expectedItems: 10 });
      expect(reopened.layout).toEqual(big.layout); // the table's own layout
      await reopened.close();
      // Neither given: the first load sizes the table, from an array's length (300 items:
      // 4 substrings of 7-8 bits) or its expectedItems option; a stream of unknown size
      // keeps the default layout (2 of 15 bits).
      for (const [items, expectedItems, lengths] of [
        [itemsOf(codes), undefined, [8, 8, 7, 7]],
        [itemsOf(codes).values(), 1e7, [30]],
        [itemsOf(codes).values(), undefined, [15, 15]],
      ] as const) {
        const sized = await openHashTable(url, { table: name(), bits: 30 });
        try {
          expect(sized.layout.substrings.map((s) => s.length)).toEqual([15, 15]);
          await sized.load(items, expectedItems === undefined ? {} : { expectedItems });
          expect(sized.layout.substrings.map((s) => s.length)).toEqual(lengths);
          await expectSameAsMemory(sized, codes, codeAt(codes, 2), 3, 12);
          const again = await openHashTable(url, { table: sized.table });
          expect(again.layout).toEqual(sized.layout);
          await again.load(itemsOf(codes)); // an append: nothing new, the layout stays
          expect(again.layout).toEqual(sized.layout);
          await again.close();
        } finally {
          await sized.close();
        }
      }
    } finally {
      await big.close();
      await small.close();
    }
  });

  it('appends without duplicating ids, numbering items in insertion order', async () => {
    const codes = clusteredCodes(64, 700, 7);
    const all = itemsOf(codes);
    const table = await open(64);
    try {
      const first = await table.load(all.slice(0, 500), { batchSize: 100 });
      expect(first).toEqual({ read: 500, inserted: 500, batches: 5 });
      // 100 ids already there, 200 new ones, and one repeated within the load.
      const progress: number[] = [];
      const again = await table.load([...all.slice(400, 700), all[650]!], {
        batchSize: 120,
        onProgress: (p) => progress.push(p.inserted),
      });
      expect(again).toEqual({ read: 301, inserted: 200, batches: 3 });
      expect(progress).toEqual([20, 140, 200]);
      expect(await table.count()).toBe(700);
      const result = await table.searchRadius(codeAt(codes, 650), 64);
      expect([...result.items].sort((a, b) => a - b)).toEqual(all.map((_, i) => i));
      expect(result.labels[result.items.indexOf(650)]).toBe(650 % 7);
      await expectSameAsMemory(table, codes, codeAt(codes, 3), 5, 20);
    } finally {
      await table.close();
    }
  });

  it('keeps whole batches when a load is interrupted, and rebuilds the indexes on open', async () => {
    const codes = clusteredCodes(30, 300, 11);
    const table = name();
    const first = await openHashTable(url, { table, bits: 30 });
    async function* failing(): AsyncGenerator<HashItem> {
      for (const item of itemsOf(codes)) {
        if (item.id === 'id-250') throw new Error('source failed');
        yield item;
      }
    }
    await expect(first.load(failing(), { batchSize: 100 })).rejects.toThrow('source failed');
    expect(await first.count()).toBe(200);
    await first.close();
    const reopened = await openHashTable(url, { table });
    try {
      expect(reopened.bits).toBe(30);
      const client = new pg.Client(server.url);
      await client.connect();
      const { rows } = await client.query(
        'SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = $1',
        [table],
      );
      await client.end();
      expect(rows[0].n).toBe(2 + reopened.layout.substrings.length);
      const kept = packedCodesFromWords(codes.data.slice(0, 200 * codeWords(30)), 30);
      await expectSameAsMemory(reopened, kept, codeAt(codes, 5), 3, 10);
      // The rest loads as an append.
      await reopened.load(itemsOf(codes).slice(200));
      await expectSameAsMemory(reopened, codes, codeAt(codes, 260), 4, 10);
    } finally {
      await reopened.close();
    }
  });

  it('quotes table names and passes ids as data', async () => {
    const table = `we"ird'; DROP TABLE codes_0; --`;
    const hostile = `a'b"c; DROP TABLE x; --\t\\n\n`;
    const codes = clusteredCodes(30, 3, 3);
    const opened = await openHashTable(`${url}?table=${encodeURIComponent(table)}`, { bits: 30 });
    try {
      expect(opened.table).toBe(table);
      await opened.load([{ id: hostile, code: codeAt(codes, 0) }, ...itemsOf(codes).slice(1)]);
      const found = await opened.searchRadius(codeAt(codes, 0), 0);
      expect(found.ids[0]).toBe(hostile);
      expect(found.labels[0]).toBeNull();
      await opened.load([{ id: hostile, code: codeAt(codes, 1) }]);
      expect(await opened.count()).toBe(3);
    } finally {
      await opened.close();
    }
  });

  it('falls back to a scan, and says so', async () => {
    const codes = clusteredCodes(64, 200, 5);
    const table = await open(64);
    try {
      await table.load(itemsOf(codes));
      const query = codeAt(clusteredCodes(64, 1, 99), 0);
      const index = createHashIndex(codes);
      const nearest = await table.searchNearest(query, 15, { maxRadius: 0 });
      expect(nearest.strategy).toBe('scan');
      expect(nearest.items).toEqual(Array.from(searchNearest(index, query, 15).indices));
      const scanned = await table.searchRadius(query, 20, { strategy: 'scan' });
      expect(scanned.strategy).toBe('scan');
      expect(scanned.candidates).toBe(200);
      expect(scanned.items).toEqual(Array.from(searchRadius(index, query, 20).indices));
    } finally {
      await table.close();
    }
  });

  it('refuses a table of another code width, or not made by aekit', async () => {
    const table = name();
    await (await openHashTable(url, { table, bits: 30 })).close();
    const wrong = await expectRejectsWith(
      openHashTable(url, { table, bits: 64 }),
      'HashTableMismatch',
    );
    expect(wrong.message).toContain('30-bit');
    const client = new pg.Client(server.url);
    await client.connect();
    await client.query('CREATE TABLE plain (id text)');
    await client.end();
    await expectRejectsWith(openHashTable(url, { table: 'plain', bits: 30 }), 'HashTableMismatch');
  });

  it('says which server it cannot reach', async () => {
    const err = await expectRejectsWith(
      openHashTable('postgres://postgres@127.0.0.1:1/db?table=t', { bits: 30 }),
      'DatabaseUnreachable',
    );
    expect(err.message).toContain('127.0.0.1:1/db');
    expect(err.hint).toContain('PGHOST');
  });

  it('connects through a pool, or the PG* environment variables', async () => {
    const pool = new pg.Pool({ connectionString: server.url });
    const table = name();
    const viaPool = await openHashTable(pool, { table, bits: 30 });
    await viaPool.load(itemsOf(clusteredCodes(30, 10, 1)));
    await viaPool.close();
    expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1); // still open
    await pool.end();
    const saved = { ...process.env };
    Object.assign(process.env, {
      PGHOST: '127.0.0.1',
      PGPORT: String(server.port),
      PGUSER: 'postgres',
      PGDATABASE: 'postgres',
    });
    try {
      const viaEnv = await openHashTable(undefined, { table });
      expect(await viaEnv.count()).toBe(10);
      await viaEnv.close();
    } finally {
      for (const key of ['PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE']) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });
});
