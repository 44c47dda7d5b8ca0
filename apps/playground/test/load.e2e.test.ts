import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, missing } from '../../../packages/core/src/test-utils/requirements.js';
import {
  type StaticServer,
  serveStatic,
} from '../../../packages/runtime-web/src/test-utils/static-server.js';
import { APP, type Browser, buildPlayground, openBrowser, PREPARE_TIMEOUT_MS } from './harness.js';

const shots = join(APP, 'test-results');
const skip = missing(CHROMIUM);
const out = mkdtempSync(join(tmpdir(), 'aekit-playground-load-'));

/** The goal for the page itself (JavaScript and WebAssembly, gzipped) on a cold wasm visit. */
const PAGE_BUDGET_BYTES = 5 * 1024 * 1024;

/** The WebGPU build of onnxruntime-web: its module and its 26 MB `.wasm`. */
const WEBGPU_BUILD = /ort\.webgpu|asyncify/;
const isPageFile = (path: string) => /\.(js|mjs|wasm|css|html)$/.test(path) || path === '/';
const isModelFile = (path: string) => /\/models\//.test(path);

let server: StaticServer;
let browser: Browser;
let page: Page;
const logs: string[] = [];

beforeAll(async () => {
  if (skip) return;
  await buildPlayground(out);
  // As a static host serves a built app: compressed, and the hashed assets cached for good
  // (index.html and the models' folders are revalidated).
  server = await serveStatic(out, {
    compress: true,
    cacheControl: (path) =>
      path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  browser = await openBrowser();
  page = browser.page;
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  mkdirSync(shots, { recursive: true });
}, PREPARE_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(out, { recursive: true, force: true });
});

/** What one visit to the reconstruct view fetched and how long it took to its first image. */
async function visitReconstruct(visit: number) {
  const before = server.transfers.length;
  const t0 = Date.now();
  // The default device: `auto`, which must resolve to wasm for these small models.
  await page.goto(`${server.url}?visit=${visit}#reconstruct`);
  await page.waitForSelector('#reconstruction[data-ready="true"]', { timeout: 60_000 });
  const ms = Date.now() - t0;
  const transfers = server.transfers.slice(before);
  const bytes = (keep: (path: string) => boolean) =>
    transfers.filter((t) => keep(t.path)).reduce((sum, t) => sum + t.bytes, 0);
  return {
    ms,
    transfers,
    pageBytes: bytes(isPageFile),
    modelBytes: bytes(isModelFile),
    device: await page.locator('body').getAttribute('data-device'),
  };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;

describe.skipIf(skip)('the built playground loads small, once, on the right device', () => {
  let cold: Awaited<ReturnType<typeof visitReconstruct>>;

  it('cold: auto runs on wasm, the WebGPU build is never fetched, the page is under 5 MB gzipped', async () => {
    cold = await visitReconstruct(1);
    console.log(
      `[playground] cold visit: first reconstruction after ${cold.ms} ms; page (JS + wasm, gzipped) ${mb(cold.pageBytes)}, models ${mb(cold.modelBytes)}`,
    );
    expect(cold.device).toBe('wasm');
    const webgpu = cold.transfers.filter((t) => WEBGPU_BUILD.test(t.path));
    expect(webgpu, 'fetched without being asked for').toEqual([]);
    expect(cold.pageBytes).toBeGreaterThan(0);
    expect(cold.pageBytes).toBeLessThan(PAGE_BUDGET_BYTES);
    // Nothing red in the console: no onnxruntime warnings with ANSI codes, no errors.
    expect(logs.filter((l) => /^(error|warning|pageerror)/.test(l))).toEqual([]);
    expect(logs.join('\n')).not.toContain(`${String.fromCharCode(27)}[`);
    await page.screenshot({ path: join(shots, 'cold-load.png'), fullPage: true });
  });

  it('warm: a second visit downloads no model and no page asset again, and is faster', async () => {
    const warm = await visitReconstruct(2);
    console.log(
      `[playground] warm visit: first reconstruction after ${warm.ms} ms (cold ${cold.ms} ms); transferred ${mb(warm.pageBytes)} page, ${mb(warm.modelBytes)} models`,
    );
    expect(warm.transfers.filter((t) => /\.onnx$/.test(t.path))).toEqual([]);
    expect(warm.transfers.filter((t) => /\.(js|wasm)$/.test(t.path))).toEqual([]);
    expect(warm.ms).toBeLessThan(cold.ms);
  });
});
