#!/usr/bin/env node
// `npm run bench:search [-- OPTIONS]`: Hamming search in memory (hash-search.mjs), or with
// `--db` in a private PostgreSQL server beside the in-memory index (hash-search-db.mjs,
// Debian's `postgresql`). The other options go to the script that runs.
const at = process.argv.indexOf('--db', 2);
if (at !== -1) process.argv.splice(at, 1);
await import(at === -1 ? './hash-search.mjs' : './hash-search-db.mjs');
