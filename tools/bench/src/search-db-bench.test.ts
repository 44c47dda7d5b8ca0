import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { missing, POSTGRESQL } from '../../../packages/core/src/test-utils/requirements.js';

/** `npm run bench:search`'s script; `--db` runs the PostgreSQL bench. */
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '../search.mjs');

describe.skipIf(missing(POSTGRESQL))(
  'bench:search --db, small (a private PostgreSQL server)',
  () => {
    it('loads both widths and answers every query as the in-memory index does', async () => {
      const result = await new Promise<{ code: number; stdout: string; stderr: string }>(
        (resolve) => {
          execFile(
            process.execPath,
            [SCRIPT, '--db', '--items', '20000', '--queries', '40'],
            { maxBuffer: 1 << 24 },
            (error, stdout, stderr) =>
              resolve({
                code: error ? ((error as { code?: number }).code ?? 1) : 0,
                stdout,
                stderr,
              }),
          );
        },
      );
      expect(result.code, result.stderr).toBe(0);
      console.log(result.stdout);
      expect(result.stdout).toMatch(/30-bit codes: m = \d+ substrings/);
      expect(result.stdout).toMatch(/64-bit codes: m = \d+ substrings/);
      // One row per search: radius 0-3 for both widths, 6 for 64 bits, and k=10 for both.
      const rows = result.stdout
        .split('\n')
        .filter((l) => /^(radius \d+|k=10)\s/.test(l))
        .map((l) => l.trim().split(/\s+/));
      expect(rows).toHaveLength(11);
      for (const row of rows) {
        const name = row[0] === 'radius' ? `${row[0]} ${row[1]}` : row[0]!;
        const cells = row[0] === 'radius' ? row.slice(2) : row.slice(1);
        // db p50, db p99, candidates, found, recall, same, ...
        expect(cells[4], `${name} recall`).toBe('1.000');
        expect(cells[5], `${name} same items, distances and order`).toBe('1.000');
      }
    }, 300_000);
  },
);
