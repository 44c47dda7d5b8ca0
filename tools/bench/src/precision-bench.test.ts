import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, missing } from '../../../packages/core/src/test-utils/requirements.js';

/** `npm run bench:precision`'s script (it drives the built `aekit` CLI and Chromium). */
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '../precision.mjs');
const dir = mkdtempSync(join(tmpdir(), 'aekit-bench-precision-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Row {
  run: string;
  precision: string;
  bytes: number;
  quality: { loss: number; metrics: Record<string, { fp32: number; value: number; loss: number }> };
  node: { b1: number; b256: number };
  chromium: { b1: number; b256: number };
}

const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

describe.skipIf(missing(CHROMIUM))(
  'bench:precision --quick (for real: four variants trained, exported at three precisions, timed in onnxruntime-node and Chromium)',
  () => {
    const out = join(dir, 'report.json');
    let result: { code: number; stdout: string; stderr: string };
    let rows: Row[] = [];

    beforeAll(async () => {
      result = await new Promise((resolve) => {
        execFile(
          process.execPath,
          [SCRIPT, '--quick', '--out', out],
          { maxBuffer: 1 << 24, cwd: dir },
          (err, stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
      if (result.code === 0) rows = JSON.parse(readFileSync(out, 'utf8')).rows;
    }, 600_000);

    it('measures every run at every precision and prints the table', () => {
      expect(result.code, result.stderr).toBe(0);
      expect(rows.map((r) => `${r.run}-${r.precision}`)).toEqual(
        ['stacked', 'conv', 'vae', 'hashing'].flatMap((v) =>
          ['fp32', 'fp16', 'int8'].map((p) => `${v}-${p}`),
        ),
      );
      expect(result.stdout).toContain('| stacked | int8 |');
      for (const row of rows) {
        for (const rate of [row.node.b1, row.node.b256, row.chromium.b1, row.chromium.b256])
          expect(positive(rate), `${row.run}-${row.precision}`).toBe(true);
      }
    });

    it("reports each variant's own measures, and smaller files at lower precision", () => {
      const of = (run: string, precision: string) =>
        rows.find((r) => r.run === run && r.precision === precision)!;
      const measures = (run: string) => Object.keys(of(run, 'int8').quality.metrics).sort();
      expect(measures('stacked')).toEqual(['mse']);
      expect(measures('vae')).toContain('negativeElbo');
      expect(measures('hashing')).toEqual(expect.arrayContaining(['bitAgreement']));
      for (const run of ['stacked', 'conv', 'vae', 'hashing']) {
        expect(of(run, 'fp32').quality.loss, run).toBe(0);
        // Weights dominate these graphs: half of fp32's bytes or less at fp16, and about a
        // quarter at int8 (the per-channel scales and small float32 tensors add a little;
        // the small conv net's share of such tensors is largest).
        expect(of(run, 'fp16').bytes / of(run, 'fp32').bytes, run).toBeLessThan(0.6);
        expect(of(run, 'int8').bytes / of(run, 'fp32').bytes, run).toBeLessThan(0.45);
      }
    });
  },
);
