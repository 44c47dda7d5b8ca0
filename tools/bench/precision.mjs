#!/usr/bin/env node
/**
 * `npm run bench:precision [-- RUN...]`: what half precision and int8 cost and save, run by run.
 *
 * Each run is copied once per precision (`fp32`, `fp16`, `int8`) and exported with
 * `aekit export --precision P --json` under a budget of 1 (100 %), so that every export is
 * written and its measured quality loss reported rather than refused. For each export:
 *
 * - the graphs' total size on disk;
 * - the quality `aekit export` measured on held-out data (the variant's own metric) and its
 *   loss against fp32;
 * - encode samples/s at batch 1 and 256 in onnxruntime-node (in-process, the CPU device)
 *   and in Chromium on onnxruntime-web's WebAssembly build (the page in web/encode, bundled
 *   by Vite and served by Vite's preview server, one model at a time).
 *
 * Without RUN arguments it trains small runs first (`--quick`: stacked, conv, vae and
 * hashing on 2,000 MNIST digits for 2 epochs), which says nothing about quality; the table
 * of record is made from runs trained on full MNIST. Prints one Markdown table and writes a
 * JSON report (`--out`, default `bench-precision-report.json`).
 *
 * ```sh
 * npm run bench:precision -- runs/stacked runs/conv runs/vae runs/hashing
 * node tools/bench/precision.mjs --quick --json     # smoke test, JSON on stdout
 * ```
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { loadAutoencoder } from '@aekit/runtime-web';
import { chromium } from 'playwright-core';
import { build, preview } from 'vite';
import { encodeRate } from './web/encode/rate.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const BIN = join(ROOT, 'packages/cli/dist/bin.js');
const PAGE = join(HERE, 'web/encode');
const PRECISIONS = ['fp32', 'fp16', 'int8'];
const QUICK_VARIANTS = ['stacked', 'conv', 'vae', 'hashing'];

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-precision-report.json' },
    seconds: { type: 'string' },
    chromium: { type: 'string', default: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
  },
});
/** Seconds each encode rate is timed for. */
const SECONDS = Number(args.seconds ?? (args.quick ? 0.3 : 2));
const log = (line) => {
  if (!args.json) process.stderr.write(`${line}\n`);
};

const run = promisify(execFile);
/** Runs the built CLI; returns its stdout, rejects with its stderr when it fails. */
async function aekit(...argv) {
  try {
    return (await run(process.execPath, [BIN, ...argv], { maxBuffer: 1 << 26 })).stdout;
  } catch (err) {
    throw new Error(`aekit ${argv.join(' ')} failed: ${err.stderr || err.message}`);
  }
}

const work = mkdtempSync(join(os.tmpdir(), 'aekit-bench-precision-'));
try {
  await main();
} finally {
  rmSync(work, { recursive: true, force: true });
}

async function main() {
  const runs = positionals.map((p) => resolve(p));
  if (runs.length === 0) {
    if (!args.quick) throw new Error('name the runs to measure, or pass --quick');
    for (const variant of QUICK_VARIANTS) {
      log(`training a small ${variant} run…`);
      const out = join(work, 'runs', variant);
      await aekit(
        'train',
        '--variant',
        variant,
        '--limit',
        '2000',
        '--epochs',
        '2',
        '--no-figures',
        '--out',
        out,
      );
      runs.push(out);
    }
  }

  const rows = [];
  for (const source of runs) {
    for (const precision of PRECISIONS) {
      const name = `${basename(source)}-${precision}`;
      const dir = join(work, 'exports', name);
      cpSync(source, dir, { recursive: true, filter: (p) => !p.startsWith(join(source, 'onnx')) });
      log(`exporting ${name}…`);
      const report = JSON.parse(
        await aekit('export', dir, '--precision', precision, '--max-quality-loss', '1', '--json'),
      );
      const onnx = join(dir, 'onnx');
      const bytes = readdirSync(onnx)
        .filter((f) => f.endsWith('.onnx'))
        .reduce((sum, f) => sum + statSync(join(onnx, f)).size, 0);
      rows.push({
        run: basename(source),
        precision,
        bytes,
        quality: report.quality ?? null,
        node: { b1: await nodeRate(onnx, 1), b256: await nodeRate(onnx, 256) },
        chromium: null,
        dir: onnx,
      });
    }
  }
  await chromiumRates(rows);

  const report = {
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown' },
    seconds: SECONDS,
    rows: rows.map(({ dir: _dir, ...row }) => row),
  };
  writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
  if (args.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(table(report.rows));
}

/** Encode samples/s in onnxruntime-node (CPU), `batch` samples per call. */
async function nodeRate(folder, batch) {
  const ae = await loadAutoencoder(folder, { device: 'cpu' });
  try {
    return await encodeRate(ae, batch, SECONDS * 1000);
  } finally {
    await ae.dispose();
  }
}

/** Fills each row's `chromium` with encode samples/s on onnxruntime-web's wasm build. */
async function chromiumRates(rows) {
  const outDir = join(work, 'page');
  await build({
    root: PAGE,
    configFile: false,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, reportCompressedSize: false, chunkSizeWarningLimit: 1e5 },
  });
  for (const row of rows)
    cpSync(row.dir, join(outDir, 'models', `${row.run}-${row.precision}`), { recursive: true });
  const server = await preview({
    root: PAGE,
    configFile: false,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0 },
  });
  const browser = await chromium.launch({
    executablePath: args.chromium,
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(server.resolvedUrls.local[0]);
    await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 30_000 });
    for (const row of rows) {
      const base = `models/${row.run}-${row.precision}/`;
      log(`timing ${row.run}-${row.precision} in Chromium…`);
      const rate = (batch) =>
        page.evaluate(
          ([b, n, ms]) => window.aekitEncodeRate(b, n, ms),
          [base, batch, SECONDS * 1000],
        );
      row.chromium = {
        b1: (await rate(1)).samplesPerSecond,
        b256: (await rate(256)).samplesPerSecond,
      };
    }
  } finally {
    await browser.close();
    await new Promise((ok) => server.httpServer.close(ok));
  }
}

/** The report as a Markdown table. */
function table(rows) {
  const n = (v) => (v >= 100 ? Math.round(v).toLocaleString('en') : v.toPrecision(3));
  // Each measure at this precision, with its change against fp32.
  const quality = (q) =>
    q
      ? Object.entries(q.metrics ?? {})
          .map(
            ([k, v]) => `${k} ${Number(v.value).toPrecision(4)} (${(v.loss * 100).toFixed(2)} %)`,
          )
          .join(', ')
      : '-';
  const lines = [
    '| run | precision | graphs KiB | quality (loss vs fp32) | node b1 | node b256 | chromium b1 | chromium b256 |',
    '|---|---|---:|---|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.run} | ${r.precision} | ${n(r.bytes / 1024)} | ${quality(r.quality)} | ${n(r.node.b1)} | ${n(r.node.b256)} | ${n(r.chromium.b1)} | ${n(r.chromium.b256)} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
