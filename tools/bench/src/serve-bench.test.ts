import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** `npm run bench:serve`'s script (it drives the built `aekit` CLI). */
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '../serve.mjs');
const dir = mkdtempSync(join(tmpdir(), 'aekit-bench-serve-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Row {
  id: string;
  requests: number;
  requestsPerSecond: number;
  samplesPerSecond: number;
  p50Ms: number | null;
  p99Ms: number | null;
  errors: number;
  rejected: number;
  ratio: number | null;
}

const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

describe('bench:serve --quick (for real: aekit serve, autocannon, onnxruntime-node)', () => {
  const out = join(dir, 'report.json');
  let result: { code: number; stdout: string; stderr: string };
  let report: {
    machine: { cpus: number };
    rss: { before: number | null; after: number | null; requests: number };
    overload: { rejected: number; readyAfter: boolean; alive: boolean };
    rows: Row[];
  };

  beforeAll(async () => {
    result = await new Promise((resolve) => {
      execFile(
        process.execPath,
        [SCRIPT, '--quick', '--run', join(dir, 'digits'), '--out', out],
        { maxBuffer: 1 << 24, cwd: dir },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    if (result.code === 0) report = JSON.parse(readFileSync(out, 'utf8'));
  }, 240_000);

  it('runs every case and prints the table', () => {
    expect(result.code, result.stderr).toBe(0);
    expect(report.rows.map((r) => r.id)).toEqual([
      'bare-http',
      'bare-http-b256',
      'bare-http-b256-binary',
      'ort-b1',
      'ort-b256',
      'serve-b1-batched',
      'serve-b1-binary',
      'serve-b256',
      'serve-b256-binary',
      'serve-b1-unbatched',
      'overload',
    ]);
    expect(result.stdout).toContain('| serve-b1-batched |');
    expect(report.machine.cpus).toBeGreaterThan(0);
  });

  it('answers every request without error, with sane numbers', () => {
    // Timings depend on the machine: only their signs and the counts are checked.
    for (const row of report.rows) {
      expect(row.errors, row.id).toBe(0);
      expect(positive(row.requestsPerSecond), row.id).toBe(true);
      if (row.id !== 'overload') expect(row.rejected, row.id).toBe(0);
      if (row.p50Ms !== null) expect(row.p99Ms!, row.id).toBeGreaterThanOrEqual(row.p50Ms);
    }
    const b256 = report.rows.find((r) => r.id === 'serve-b256')!;
    expect(b256.samplesPerSecond).toBeCloseTo(256 * b256.requestsPerSecond, 6);
    expect(report.rows.find((r) => r.id === 'serve-b1-batched')!.ratio).toBeGreaterThan(0);
  });

  it('refuses the overload with 503s only, stays ready, and reads the RSS', () => {
    expect(report.overload.rejected).toBeGreaterThan(0);
    expect(report.overload.readyAfter).toBe(true);
    expect(report.overload.alive).toBe(true);
    expect(report.rss.requests).toBeGreaterThan(0);
    if (process.platform === 'linux') expect(positive(report.rss.after)).toBe(true);
  });
});
