// Hamming search in PostgreSQL: loads N seeded random codes of 30 and of 64 bits into a
// private temporary server (COPY, items/s), then times 1,000 queries at radius 0, 1, 2, 3
// (and 6 for 64 bits) and k = 10: p50 and p99 latency, candidates examined per query, and
// recall against an exact scan (core's in-memory search over the same codes) and the share of
// queries whose items, distances and order equal it exactly (`same`), with the
// in-memory index's latency on the same queries beside them. Needs Debian's `postgresql`.
// Run after `npm run build`:
// `node tools/bench/hash-search-db.mjs [--items N] [--bits 30,64] [--queries Q] [--substrings M] [--cold]`.
import { parseArgs } from 'node:util';
import {
  codeAt,
  createHashIndex,
  createRng,
  packedCodesFromWords,
  searchNearest,
  searchRadius,
} from '@aekit/core';
import { openHashTable } from '@aekit/postgres';
import { startTemporaryPostgres } from '@aekit/postgres/testing';
import pg from 'pg';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '10000000' },
    bits: { type: 'string', default: '30,64' },
    queries: { type: 'string', default: '1000' },
    substrings: { type: 'string' },
    'batch-size': { type: 'string', default: '100000' },
    seed: { type: 'string', default: '1' },
    cold: { type: 'boolean', default: false },
  },
});
const items = Number(values.items);
const queries = Number(values.queries);
const widths = values.bits.split(',').map(Number);
const substrings = values.substrings === undefined ? undefined : Number(values.substrings);
const batchSize = Number(values['batch-size']);

/** `count` seeded random codes of `bits` bits, packed as core packs them. */
function randomCodes(bits, count, rng) {
  const words = Math.ceil(bits / 32);
  const data = new Uint32Array(count * words);
  const top = bits % 32 === 0 ? 0xffffffff : 2 ** (bits % 32) - 1;
  for (let i = 0; i < data.length; i++) {
    const word = Math.floor(rng() * 2 ** 32);
    data[i] = (i % words === words - 1 ? word & top : word) >>> 0;
  }
  return packedCodesFromWords(data, bits);
}

/**
 * Reads a table and its indexes into shared buffers (pg_prewarm), as on a server that has
 * been answering queries for a while; `--cold` leaves them where the load left them.
 */
async function prewarm(url, table) {
  const client = new pg.Client(url);
  await client.connect();
  await client.query('CREATE EXTENSION IF NOT EXISTS pg_prewarm');
  await client.query(
    `SELECT pg_prewarm(c.oid) FROM pg_class c WHERE c.oid = $1::regclass
     OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = $1::regclass)`,
    [table],
  );
  await client.end();
}

/** Drops a table once measured, so that the next width has the shared buffers to itself. */
async function dropTable(url, table) {
  const client = new pg.Client(url);
  await client.connect();
  await client.query(`DROP TABLE ${pg.escapeIdentifier(table)}`);
  await client.end();
}

/** The q-th quantile (0..1) of sorted numbers. */
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** Fraction of `exact`'s items that `found` holds (1 when `exact` is empty). */
function recall(found, exact) {
  if (exact.length === 0) return 1;
  const have = new Set(found);
  let hits = 0;
  for (const item of exact) if (have.has(item)) hits++;
  return hits / exact.length;
}

/** Settings a server for this size would be given; the temporary server starts with them. */
const SERVER_SETTINGS = {
  shared_buffers: '4GB',
  max_wal_size: '16GB',
  maintenance_work_mem: '1GB',
};
const server = await startTemporaryPostgres({ settings: SERVER_SETTINGS });
console.log(
  `${items.toLocaleString('en')} seeded random codes per width, ${queries} queries per row (half codes of indexed items, half random); Node ${process.version}`,
);
console.log(
  `temporary server: ${Object.entries(SERVER_SETTINGS)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')}; fsync, synchronous_commit and full_page_writes off (its data is thrown away); ` +
    (values.cold
      ? 'tables searched as loaded (--cold)'
      : 'each table and its indexes read into shared buffers (pg_prewarm) before its queries'),
);
try {
  for (const bits of widths) {
    const rng = createRng(Number(values.seed), `hash-search-db-${bits}`);
    const codes = randomCodes(bits, items, rng);
    const index = createHashIndex(codes);
    const table = await openHashTable(server.url, {
      table: `codes_${bits}`,
      bits,
      expectedItems: items,
      ...(substrings === undefined ? {} : { substrings }),
    });
    const start = performance.now();
    function* source() {
      for (let i = 0; i < items; i++) yield { id: String(i), code: codeAt(codes, i) };
    }
    let last = start;
    /** When each step after the batches started (ms since start). */
    const steps = {};
    await table.load(source(), {
      batchSize,
      onStep: (step) => {
        steps[step] = performance.now() - start;
      },
      onProgress: (p) => {
        const now = performance.now();
        if (now - last > 10_000) {
          process.stderr.write(
            `  ${p.inserted.toLocaleString('en')} rows, ${((p.inserted / (now - start)) * 1000).toFixed(0)} items/s\n`,
          );
          last = now;
        }
      },
    });
    const seconds = (performance.now() - start) / 1000;
    const copySeconds = (steps.indexes ?? steps.vacuum) / 1000;
    const rate = (s) => `${Math.round(items / s).toLocaleString('en')} items/s`;
    console.log(
      `\n${bits}-bit codes: m = ${table.layout.substrings.length} substrings of ${table.layout.substrings.map((s) => s.length).join('/')} bits (chosen for ${items.toLocaleString('en')} expected items)`,
    );
    console.log(
      `load: COPY (binary, batches of ${batchSize.toLocaleString('en')}) ${copySeconds.toFixed(1)} s = ${rate(copySeconds)}; ` +
        `indexes ${((steps.vacuum - steps.indexes) / 1000).toFixed(1)} s, VACUUM ANALYZE ${((steps.done - steps.vacuum) / 1000).toFixed(1)} s; ` +
        `total ${seconds.toFixed(1)} s = ${rate(seconds)}`,
    );
    if (!values.cold) await prewarm(server.url, table.table);
    const query = Array.from({ length: queries }, (_, q) =>
      q % 2 === 0
        ? Uint32Array.from(codeAt(codes, Math.floor(rng() * items)))
        : Uint32Array.from(codeAt(randomCodes(bits, 1, rng), 0)),
    );
    console.log(
      'search        db p50 ms  db p99 ms  candidates  found  recall  same  strategies          memory p50 ms  memory p99 ms',
    );
    const radii = bits > 32 ? [0, 1, 2, 3, 6] : [0, 1, 2, 3];
    const jobs = [
      ...radii.map((r) => ({
        name: `radius ${r}`,
        db: (code) => table.searchRadius(code, r),
        memory: (code) => searchRadius(index, code, r),
      })),
      {
        name: 'k=10',
        db: (code) => table.searchNearest(code, 10),
        memory: (code) => searchNearest(index, code, 10),
      },
    ];
    for (const job of jobs) {
      for (const code of query.slice(0, 20)) await job.db(code);
      const db = [];
      const mem = [];
      let candidates = 0;
      let found = 0;
      let recalled = 0;
      let same = 0;
      const strategies = new Map();
      /** How many queries ended at each radius (k nearest: the radius that held k). */
      const radiiFound = new Map();
      for (const code of query) {
        let t = performance.now();
        const result = await job.db(code);
        db.push(performance.now() - t);
        t = performance.now();
        const exact = job.memory(code);
        mem.push(performance.now() - t);
        candidates += result.candidates;
        found += result.items.length;
        recalled += recall(result.items, Array.from(exact.indices));
        if (
          result.items.length === exact.indices.length &&
          result.items.every((item, i) => item === exact.indices[i]) &&
          result.distances.every((d, i) => d === exact.distances[i])
        ) {
          same++;
        }
        strategies.set(result.strategy, (strategies.get(result.strategy) ?? 0) + 1);
        radiiFound.set(result.radius, (radiiFound.get(result.radius) ?? 0) + 1);
      }
      db.sort((a, b) => a - b);
      mem.sort((a, b) => a - b);
      console.log(
        job.name.padEnd(12) +
          quantile(db, 0.5).toFixed(2).padStart(10) +
          quantile(db, 0.99).toFixed(2).padStart(11) +
          (candidates / queries).toFixed(0).padStart(12) +
          (found / queries).toFixed(1).padStart(7) +
          (recalled / queries).toFixed(3).padStart(8) +
          (same / queries).toFixed(3).padStart(6) +
          `  ${[...strategies].map(([name, n]) => `${name} ${n}`).join(', ')}`.padEnd(22) +
          quantile(mem, 0.5).toFixed(3).padStart(15) +
          quantile(mem, 0.99).toFixed(3).padStart(15),
      );
      if (job.name.startsWith('k=')) {
        const ended = [...radiiFound].sort(([a], [b]) => a - b);
        console.log(
          `  ${job.name} ended at radius ${ended.map(([r, n]) => `${r}: ${n}`).join(', ')}`,
        );
        // Why the radius: items expected within r of a random code, N * ball(bits, r) / 2^bits.
        const expected = [];
        for (let r = 0, ball = 0, term = 1; r <= bits && expected.length < 3; r++) {
          ball += term;
          term = (term * (bits - r)) / (r + 1);
          const n = (items * ball) / 2 ** bits;
          if (n >= 1) expected.push(`${r}: ${n.toFixed(1)}`);
        }
        console.log(`  items expected within radius r of a random code: ${expected.join(', ')}`);
      }
    }
    await table.close();
    await dropTable(server.url, table.table);
  }
} finally {
  await server.stop();
}
