// Hamming search in PostgreSQL: loads N seeded random codes of 30 and of 64 bits into a
// private temporary server (COPY, items/s), then times 1,000 queries at radius 0, 1, 2, 3
// (and 6 for 64 bits) and k = 10: p50 and p99 latency, candidates examined per query, and
// recall against an exact scan (core's in-memory search over the same codes), with the
// in-memory index's latency on the same queries beside them. Needs Debian's `postgresql`.
// Run after `npm run build`:
// `node tools/bench/hash-search-db.mjs [--items N] [--bits 30,64] [--queries Q] [--substrings M]`.
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

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '10000000' },
    bits: { type: 'string', default: '30,64' },
    queries: { type: 'string', default: '1000' },
    substrings: { type: 'string' },
    'batch-size': { type: 'string', default: '100000' },
    seed: { type: 'string', default: '1' },
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

const server = await startTemporaryPostgres({
  settings: { shared_buffers: '2GB', max_wal_size: '16GB', maintenance_work_mem: '1GB' },
});
console.log(
  `${items.toLocaleString('en')} seeded random codes per width, ${queries} queries per row (half codes of indexed items, half random); Node ${process.version}`,
);
try {
  for (const bits of widths) {
    const rng = createRng(Number(values.seed), `hash-search-db-${bits}`);
    const codes = randomCodes(bits, items, rng);
    const index = createHashIndex(codes);
    const table = await openHashTable(server.url, {
      table: `codes_${bits}`,
      bits,
      ...(substrings === undefined ? {} : { substrings }),
    });
    const start = performance.now();
    function* source() {
      for (let i = 0; i < items; i++) yield { id: String(i), code: codeAt(codes, i) };
    }
    let last = start;
    await table.load(source(), {
      batchSize,
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
    console.log(
      `\n${bits}-bit codes: ${table.layout.substrings.length} substrings of ${table.layout.substrings.map((s) => s.length).join('/')} bits; loaded in ${seconds.toFixed(1)} s: ${Math.round(items / seconds).toLocaleString('en')} items/s (COPY, batches of ${batchSize.toLocaleString('en')}, then VACUUM ANALYZE)`,
    );
    const query = Array.from({ length: queries }, (_, q) =>
      q % 2 === 0
        ? Uint32Array.from(codeAt(codes, Math.floor(rng() * items)))
        : Uint32Array.from(codeAt(randomCodes(bits, 1, rng), 0)),
    );
    console.log(
      'search        db p50 ms  db p99 ms  candidates  found  recall  strategy      memory p50 ms  memory p99 ms',
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
      const strategies = new Set();
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
        strategies.add(result.strategy);
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
          `  ${[...strategies].join('+')}`.padEnd(14) +
          quantile(mem, 0.5).toFixed(3).padStart(15) +
          quantile(mem, 0.99).toFixed(3).padStart(15),
      );
    }
    await table.close();
  }
} finally {
  await server.stop();
}
