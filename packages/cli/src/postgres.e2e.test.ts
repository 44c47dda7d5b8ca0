/**
 * Semantic hashing in PostgreSQL, end to end on real MNIST: a hashing run trained by the CLI
 * hashes the 60,000 training images into a table of a private PostgreSQL server (`aekit hash
 * --to`) and into an index file (`aekit hash --out`); for 200 test digits, the database and
 * the in-memory index give the same neighbours (ids, distances, labels, ties in the same
 * order) through the runtime's `nearest` and through `aekit search`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '@aekit/core/node';
import { type HashTable, openHashTable } from '@aekit/postgres';
import { startTemporaryPostgres, type TemporaryPostgres } from '@aekit/postgres/testing';
import {
  type Autoencoder,
  type HashIndex,
  loadAutoencoder,
  loadHashIndex,
} from '@aekit/runtime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, POSTGRESQL } from '../../core/src/test-utils/requirements.js';
import { aekit } from './test-utils/aekit.js';

const QUERIES = 200;

describe.skipIf(missing(POSTGRESQL))('aekit hash --to postgres:// and search (real MNIST)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-postgres-e2e-'));
  const run = join(dir, 'hashing');
  const file = join(dir, 'mnist.aehash');
  let server: TemporaryPostgres;
  let url: string;
  let ae: Autoencoder;
  let index: HashIndex;
  let table: HashTable;
  /** 200 MNIST test digits, normalised as the model was trained. */
  let queries: Float32Array;
  let queryLabels: ArrayLike<number>;

  beforeAll(async () => {
    server = await startTemporaryPostgres();
    url = `${server.url}?table=mnist`;
    // 20,000 digits for 10 epochs (about 25 s): codes spread over ~10,000 distinct values,
    // precision@10 about 0.76 (fewer epochs leave a few huge buckets).
    const trained = await aekit(
      ...['train', '--variant', 'hashing', '--layers', '256', '--bits', '24', '--data', 'mnist'],
      ...['--limit', '20000', '--epochs', '10', '--backend', 'wasm', '--no-figures', '--out', run],
    );
    expect(trained.code, trained.stderr).toBe(0);
    expect((await aekit('export', run)).code).toBe(0);
    const [toDb, toFile] = await Promise.all([
      aekit('hash', run, '--data', 'mnist', '--to', url, '--device', 'cpu'),
      aekit('hash', run, '--data', 'mnist', '--out', file, '--device', 'cpu'),
    ]);
    expect(toDb.code, toDb.stderr).toBe(0);
    expect(toFile.code, toFile.stderr).toBe(0);
    expect(toDb.stdout).toMatch(/loaded into table "mnist": 60000 added, 60000 rows now/);
    ae = await loadAutoencoder(run, { device: 'cpu' });
    index = await loadHashIndex(file);
    table = await openHashTable(url);
    const test = loadDataset({
      source: 'mnist',
      split: 'test',
      limit: QUERIES,
      normalization: ae.info.normalization!,
    }).dataset;
    queries = test.x;
    queryLabels = test.labels!;
  }, 600_000);

  afterAll(async () => {
    await table?.close();
    await ae?.dispose();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the same neighbours as the in-memory index for 200 test digits', async () => {
    const x = { data: queries, shape: [QUERIES, 28, 28, 1] };
    for (const options of [{ radius: 0 }, { radius: 2 }, { k: 10 }] as const) {
      const [inMemory, inDb] = await Promise.all([
        ae.nearest(x, index, options),
        ae.nearest(x, table, options),
      ]);
      let found = 0;
      inMemory.forEach((m, q) => {
        const d = inDb[q]!;
        expect(Array.from(d.indices), `${JSON.stringify(options)} query ${q}`).toEqual(
          Array.from(m.indices),
        );
        expect(Array.from(d.distances)).toEqual(Array.from(m.distances));
        expect(d.labels && Array.from(d.labels)).toEqual(m.labels && Array.from(m.labels));
        expect(d.ids).toEqual(Array.from(m.indices, (i) => `mnist/train:${i}`));
        found += m.indices.length;
      });
      console.log(
        `[postgres e2e] ${JSON.stringify(options)}: ${found} neighbours over ${QUERIES} queries, equal`,
      );
      // A search that finds nothing compares nothing: these must find items.
      expect(found).toBeGreaterThan(options.k ? QUERIES * 10 - 1 : 0);
      if (options.k) {
        // And the model must be useful: most of a digit's 10 nearest are the same digit
        // (about 0.76 here; 0.1 by chance).
        const same = inDb.reduce(
          (a, d, q) => a + Array.from(d.labels!).filter((l) => l === queryLabels[q]).length,
          0,
        );
        console.log(`[postgres e2e] precision@10 from the table: ${same / (QUERIES * 10)}`);
        expect(same / (QUERIES * 10)).toBeGreaterThan(0.5);
      }
    }
  }, 300_000);

  it('loads the same data again without duplicating it', async () => {
    const again = await aekit(
      ...['hash', run, '--data', 'mnist', '--limit', '1000', '--to', url, '--device', 'cpu'],
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/0 added, 1000 already there \(same ids\), 60000 rows now/);
    expect(await table.count()).toBe(60_000);
  });

  it('aekit search answers from the table what it answers from the file', async () => {
    const code = `${index.codes.data[7]!.toString(16)}`;
    const search = (source: string) =>
      aekit('search', source, '--code', code, '--radius', '2', '--json');
    const [fromDb, fromFile] = await Promise.all([search(url), search(file)]);
    expect(fromDb.code, fromDb.stderr).toBe(0);
    const db = JSON.parse(fromDb.stdout)[0];
    const mem = JSON.parse(fromFile.stdout)[0];
    expect(db.strategy).toBe('index');
    expect(db.items.map((i: { item: number; distance: number }) => [i.item, i.distance])).toEqual(
      mem.items.map((i: { item: number; distance: number }) => [i.item, i.distance]),
    );
    expect(db.items.length).toBeGreaterThan(0);
  });

  it('refuses what it cannot use with a typed error', async () => {
    const notDb = await aekit('hash', run, '--data', 'mnist', '--to', 'http://localhost/db');
    expect(notDb.code).toBe(1);
    expect(notDb.stderr).toMatch(/InvalidArgument[\s\S]*postgres:\/\/user@host/);
    const both = await aekit('hash', run, '--data', 'mnist', '--out', file, '--to', url);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/one of --out FILE .* and --to postgres/);
    const unreachable = await aekit(
      ...['search', 'postgres://postgres@127.0.0.1:1/none', '--code', '0', '--radius', '1'],
    );
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/DatabaseUnreachable[\s\S]*127\.0\.0\.1:1/);
  });
});
