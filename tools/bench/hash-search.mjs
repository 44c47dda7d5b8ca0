// Hamming search over a million codes: latency of `searchRadius` at radius 0, 1 and 2 and of
// `searchNearest` (k = 10) on 1,000,000 seeded random 30-bit codes, next to a scan of every
// code measured in the same run (the reference: what a search without the sorted lookup
// costs). Run after `npm run build`: `npm run bench:search [-- --items N --bits B --queries Q]`.
import { parseArgs } from 'node:util';
import {
  codeAt,
  createHashIndex,
  createRng,
  packedCodesFromWords,
  searchNearest,
  searchRadius,
  searchStrategy,
} from '@aekit/core';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '1000000' },
    bits: { type: 'string', default: '30' },
    queries: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
  },
});
const items = Number(values.items);
const bits = Number(values.bits);
const queries = Number(values.queries);
if (!(bits >= 1 && bits <= 32)) throw new Error('--bits: 1 to 32 (one word per code)');

const rng = createRng(Number(values.seed), 'hash-search-bench');
const mask = bits === 32 ? 0xffffffff : 2 ** bits - 1;
const randomCode = () => Math.floor(rng() * 2 ** 32) & mask;
const data = new Uint32Array(items);
for (let i = 0; i < items; i++) data[i] = randomCode() >>> 0;
const t = performance.now();
const index = createHashIndex(packedCodesFromWords(data, bits));
const buildMs = performance.now() - t;
// Queries: half the codes of indexed items (radius 0 finds them), half fresh random codes.
const query = Array.from({ length: queries }, (_, q) =>
  q % 2 === 0
    ? Uint32Array.from(codeAt(index.codes, Math.floor(rng() * items)))
    : Uint32Array.of(randomCode() >>> 0),
);

/** Mean milliseconds per query of `search` over `codes`, after a warm-up, and mean hits. */
function time(search, codes) {
  for (const code of codes.slice(0, 50)) search(code);
  let hits = 0;
  const start = performance.now();
  for (const code of codes) hits += search(code).indices.length;
  return { ms: (performance.now() - start) / codes.length, hits: hits / codes.length };
}

// A scan reads every code: fewer queries give a steady figure.
const scanned = query.slice(0, Math.min(queries, 200));
console.log(
  `${items.toLocaleString('en')} random ${bits}-bit codes, index built in ${buildMs.toFixed(0)} ms; ${queries} queries (${scanned.length} for scans); Node ${process.version} ${process.arch}`,
);
console.log('search                  ms/query  items found  scan ms/query  scan / search');
for (const radius of [0, 1, 2]) {
  const fast = time((code) => searchRadius(index, code, radius), query);
  const scan = time((code) => searchRadius(index, code, radius, { strategy: 'scan' }), scanned);
  console.log(
    `radius ${radius} (${searchStrategy(index, radius)})`.padEnd(22) +
      fast.ms.toFixed(4).padStart(10) +
      fast.hits.toFixed(2).padStart(13) +
      scan.ms.toFixed(3).padStart(15) +
      `${(scan.ms / fast.ms).toFixed(0)}x`.padStart(15),
  );
}
const nearest = time((code) => searchNearest(index, code, 10), scanned);
console.log(
  `${'nearest k=10 (scan)'.padEnd(22)}${nearest.ms.toFixed(3).padStart(10)}${'10.00'.padStart(13)}`,
);
