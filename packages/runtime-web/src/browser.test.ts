import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, missing, PYTHON_TORCH } from '../../core/src/test-utils/requirements.js';
import type { RoundTripResult, VaeResult } from '../test/app/main.js';
import { loadAutoencoder } from './node.js';
import { withChromium } from './test-utils/chromium.js';
import {
  type Expected,
  makeTorchModels,
  maxAbsDiff,
  type TorchModels,
} from './test-utils/models.js';
import { type StaticServer, serveStatic } from './test-utils/static-server.js';
import { buildApp, serveAppDev, TEST_APP } from './test-utils/vite-app.js';

// onnxruntime-web's wasm CPU kernels (MLAS compiled to wasm SIMD) and torch both compute in
// float32; they differ by summation order and the sigmoid approximation, about 1 ulp
// (6e-8 near 0.5). 1e-5 is the same bound as the Node CPU test.
const WASM_TOLERANCE = 1e-5;
// WebGPU on SwiftShader: WGSL's exp() may be off by 3 + 2|x| ulp and the shaders sum in
// another order; 1e-4 on values in (0, 1).
const WEBGPU_TOLERANCE = 1e-4;

const require = createRequire(import.meta.url);

async function openPage(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 30_000 });
}

function roundTrip(
  page: Page,
  device: string,
  expected: Expected,
  base = 'models/',
): Promise<RoundTripResult> {
  const inputs = { input: expected.input, decodeInput: expected.decodeInput };
  return page.evaluate(([b, d, x]) => window.aekitRoundTrip(b, d, x), [
    base,
    device,
    inputs,
  ] as const);
}

function checkAgainstTorch(r: RoundTripResult, expected: Expected, tolerance: number) {
  expect(r.encoded.shape).toEqual([3, 3]);
  expect(r.decoded.shape).toEqual([2, 6]);
  expect(r.reconstructed.shape).toEqual([3, 6]);
  const diffs = {
    encode: maxAbsDiff(r.encoded.data, expected.codings),
    decode: maxAbsDiff(r.decoded.data, expected.decoded),
    reconstruct: maxAbsDiff(r.reconstructed.data, expected.reconstruction),
  };
  console.log(
    `[runtime-web] chromium ${r.info.device} vs torch: max |diff|`,
    diffs,
    `load ${r.ms.load.toFixed(0)} ms, calls ${r.ms.calls.toFixed(0)} ms`,
  );
  for (const d of Object.values(diffs)) expect(d).toBeLessThanOrEqual(tolerance);
  // eight encodes started together queue up and each gets its own sample's codings
  r.concurrent.forEach((codings, i) => {
    expect(codings).toEqual(r.encoded.data.slice((i % 3) * 3, (i % 3) * 3 + 3));
  });
  expect(r.wrongLength.code).toBe('InvalidInput');
  expect(r.wrongLength.message).toContain('the Float32Array holds 7 values');
}

describe.skipIf(missing(CHROMIUM) || missing(PYTHON_TORCH))('browser runtime in Chromium', () => {
  let models: TorchModels;
  let out: string;
  let server: StaticServer;

  beforeAll(async () => {
    models = makeTorchModels();
    out = mkdtempSync(join(tmpdir(), 'aekit-rtw-app-'));
    await buildApp(TEST_APP, out);
    server = await serveStatic({ '/': out, '/models/': models.dir });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(out, { recursive: true, force: true });
    rmSync(models.dir, { recursive: true, force: true });
  });

  it('round-trips the torch pair on wasm and on WebGPU (SwiftShader) from a Vite build', async () => {
    await withChromium(async (page, { context }) => {
      await openPage(page, server.url);
      const wasm = await roundTrip(page, 'wasm', models.expected);
      expect(wasm.info).toMatchObject({
        device: 'wasm',
        inputShape: [6],
        codingShape: [3],
        inputName: 'x',
        outputName: 'y',
        described: 'sessions',
      });
      expect(wasm.crossOriginIsolated).toBe(true);
      checkAgainstTorch(wasm, models.expected, WASM_TOLERANCE);
      // 'wasm' downloads the plain wasm build only, not the WebGPU one
      const wasmFiles = server.requests.filter((r) => /\.wasm \d+$/.test(r));
      expect(wasmFiles).toHaveLength(1);
      expect(wasmFiles[0]).toMatch(/^GET \/assets\/ort-wasm-simd-threaded-[\w-]+\.wasm 200$/);

      const gpu = await roundTrip(page, 'webgpu', models.expected);
      expect(gpu.info.device).toBe('webgpu');
      checkAgainstTorch(gpu, models.expected, WEBGPU_TOLERANCE);
      expect(server.requests.some((r) => /asyncify-[\w-]+\.wasm 200$/.test(r))).toBe(true);

      // SwiftShader is a fallback adapter: 'auto' keeps wasm (browser-device.test.ts)
      const auto = await roundTrip(page, 'auto', models.expected);
      expect(auto.info.device).toBe('wasm');
      checkAgainstTorch(auto, models.expected, WASM_TOLERANCE);

      // Without WebGPU, 'auto' is wasm and 'webgpu' says which devices work.
      const noGpu = await context.newPage();
      await noGpu.addInitScript(() => {
        Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });
      });
      await openPage(noGpu, server.url);
      const fallback = await roundTrip(noGpu, 'auto', models.expected);
      expect(fallback.info.device).toBe('wasm');
      expect(fallback.info.skippedDevices).toEqual([
        'webgpu: navigator.gpu is missing: this browser has no WebGPU, or the page is not in a secure context (https or localhost).',
      ]);
      const refused = await noGpu.evaluate(() =>
        window.aekitRoundTrip('models/', 'webgpu', { input: [], decodeInput: [] }).then(
          () => 'loaded',
          (e: { code?: string; message: string }) => `${e.code}: ${e.message}`,
        ),
      );
      expect(refused).toMatch(
        /^DeviceUnavailable: Device "webgpu" cannot run here: navigator.gpu is missing.* Devices that work here: "wasm"\.$/,
      );
      const unknown = await noGpu.evaluate(() =>
        window
          .aekitRoundTrip('models/', 'cpu', { input: [], decodeInput: [] })
          .catch((e: { code?: string; message: string }) => `${e.code}: ${e.message}`),
      );
      expect(unknown).toBe(
        'UnknownDevice: Unsupported device: "cpu". Should be one of: "auto", "wasm", "webgpu".',
      );
      const missing = await noGpu.evaluate(() =>
        window
          .aekitRoundTrip('no-such-model/', 'wasm', { input: [], decodeInput: [] })
          .catch((e: { code?: string; message: string }) => `${e.code}: ${e.message}`),
      );
      expect(missing).toMatch(/^ModelLoadFailed: .*no-such-model\/encoder\.onnx answered 404/);
    });
  });

  it('encodes a VAE with its log-variance and samples the seeded codings Node samples', async () => {
    const n = 5;
    const seed = 3;
    const node = await loadAutoencoder(models.vaeDir, { device: 'cpu' });
    const inNode = await node.sample(n, { seed });
    await node.dispose();
    const nodeSamples = Array.from({ length: n }, (_, i) =>
      Array.from(inNode.data.subarray(i * 6, (i + 1) * 6)),
    );
    const { vae } = models.expected;
    await withChromium(async (page) => {
      await openPage(page, server.url);
      for (const device of ['wasm', 'webgpu']) {
        const r: VaeResult = await page.evaluate(
          ([d, x, count, s]) => window.aekitVae('models/vae/', d, x, count, s),
          [device, models.expected.input, n, seed] as const,
        );
        const tolerance = device === 'wasm' ? WASM_TOLERANCE : WEBGPU_TOLERANCE;
        expect(r.device).toBe(device);
        expect(r.logVarianceName).toBe('log_variance');
        expect(r.encoded.shape).toEqual([3, 2]);
        expect(r.logVariance?.shape).toEqual([3, 2]);
        expect(r.sampled.shape).toEqual([n, 6]);
        expect(r.sampled.codings.shape).toEqual([n, 2]);
        expect(r.sampled.seed).toBe(seed);
        // the same seed draws the very same codings in Chromium as in Node
        expect(r.sampled.codings.data).toEqual(Array.from(inNode.codings!.data));
        const diffs = {
          codings: maxAbsDiff(r.encoded.data, vae.codings),
          logVariance: maxAbsDiff(r.logVariance!.data, vae.logVariance),
          samples: maxAbsDiff(r.sampled.data, nodeSamples),
        };
        console.log(`[runtime-web] chromium ${device} VAE vs torch / Node: max |diff|`, diffs);
        for (const d of Object.values(diffs)) expect(d).toBeLessThanOrEqual(tolerance);
      }
    });
  });

  it("runs in Vite's dev server too (pre-bundled onnxruntime-web)", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'aekit-rtw-vite-cache-'));
    const dev = await serveAppDev(TEST_APP, { publicDir: models.dir, cacheDir });
    try {
      await withChromium(async (page) => {
        await openPage(page, dev.url);
        for (const device of ['wasm', 'webgpu']) {
          const r = await roundTrip(page, device, models.expected, './');
          expect(r.info.device).toBe(device);
          checkAgainstTorch(
            r,
            models.expected,
            device === 'wasm' ? WASM_TOLERANCE : WEBGPU_TOLERANCE,
          );
        }
        // the worker module, served by the dev server, gives the page's results
        const { input, decodeInput } = models.expected;
        const calls = { encode: input, decode: decodeInput, reconstruct: input };
        const [inPage, inWorker] = await Promise.all(
          [{}, { worker: true }].map((extra) =>
            page.evaluate(([c, e]) => window.aekitRun('./', 'wasm', c, e), [calls, extra] as const),
          ),
        );
        expect(inWorker).toEqual(inPage);
      });
    } finally {
      await dev.close();
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('works without a bundler (import map) and with wasmPaths pointing elsewhere', async () => {
    const ortDist = dirname(require.resolve('onnxruntime-web/wasm'));
    const page = mkdtempSync(join(tmpdir(), 'aekit-rtw-plain-'));
    const importMap = {
      imports: {
        '@aekit/runtime-web': '/runtime-web/browser.js',
        '@aekit/core/errors': '/core/errors.js',
        '@aekit/core/hashing': '/core/hashing.js',
        '@aekit/core/model': '/core/exported-model.js',
        'pure-rand/distribution/uniformFloat64': '/pure-rand/distribution/uniformFloat64.js',
        'pure-rand/generator/xoroshiro128plus': '/pure-rand/generator/xoroshiro128plus.js',
        'onnxruntime-web/wasm': '/ort/ort.wasm.bundle.min.mjs',
        'onnxruntime-web/webgpu': '/ort/ort.webgpu.bundle.min.mjs',
        comlink: '/comlink/comlink.mjs',
      },
    };
    writeFileSync(
      join(page, 'index.html'),
      `<!doctype html><html lang="en"><head><meta charset="utf-8">
<script type="importmap">${JSON.stringify(importMap)}</script>
<script type="module">
import { loadAutoencoder } from '@aekit/runtime-web';
window.plainEncode = async (device, input, wasmPaths, worker) => {
  const ae = await loadAutoencoder('/models/', {
    device,
    ...(wasmPaths ? { wasmPaths } : {}),
    ...(worker ? { worker } : {}),
  });
  const r = await ae.encode(input);
  await ae.dispose();
  return { data: Array.from(r.data), device: ae.info.device };
};
document.title = 'ready';
</script></head><body></body></html>`,
    );
    const plain = await serveStatic({
      '/': page,
      '/runtime-web/': join(dirname(require.resolve('@aekit/runtime-web/package.json')), 'dist'),
      '/core/': dirname(require.resolve('@aekit/core/errors')),
      '/pure-rand/': join(dirname(require.resolve('pure-rand/package.json')), 'lib', 'esm'),
      '/ort/': ortDist,
      '/elsewhere/': ortDist,
      '/models/': models.dir,
      '/comlink/': join(dirname(require.resolve('comlink')), '..', 'esm'),
      '/assets/': join(out, 'assets'),
    });
    // Workers do not see the page's import map: an unbundled page runs the worker of a
    // bundled build (here the test app's, by Vite, with its assets where that build put them).
    const builtWorker = readdirSync(join(out, 'assets')).find((f) => /^worker-[\w-]+\.js$/.test(f));
    try {
      await withChromium(async (browserPage, { context }) => {
        type Plain = {
          plainEncode(
            d: string,
            x: number[][],
            w?: string,
            worker?: string,
          ): Promise<{ data: number[]; device: string }>;
        };
        const encode = (p: Page, device: string, wasmPaths?: string, worker?: string) =>
          p.evaluate(([d, x, w, k]) => (window as unknown as Plain).plainEncode(d, x, w, k), [
            device,
            models.expected.input,
            wasmPaths,
            worker,
          ] as const);
        await openPage(browserPage, plain.url);
        for (const device of ['wasm', 'webgpu']) {
          const r = await encode(browserPage, device);
          expect(r.device).toBe(device);
          const diff = maxAbsDiff(r.data, models.expected.codings);
          console.log(`[runtime-web] plain ESM ${device} encode vs torch: max |diff| ${diff}`);
          expect(diff).toBeLessThanOrEqual(device === 'wasm' ? WASM_TOLERANCE : WEBGPU_TOLERANCE);
        }
        // found beside the module, through import.meta.url
        expect(plain.requests).toContain('GET /ort/ort-wasm-simd-threaded.wasm 200');
        expect(plain.requests).toContain('GET /ort/ort-wasm-simd-threaded.asyncify.wasm 200');

        const inPage = await encode(browserPage, 'wasm');
        expect(builtWorker).toBeDefined();
        const inWorker = await encode(browserPage, 'wasm', undefined, `/assets/${builtWorker}`);
        expect(inWorker).toEqual(inPage);

        const other = await context.newPage(); // fresh onnxruntime-web instances
        await openPage(other, plain.url);
        await encode(other, 'wasm', '/elsewhere/');
        expect(plain.requests).toContain('GET /elsewhere/ort-wasm-simd-threaded.wasm 200');
      });
    } finally {
      await plain.close();
      rmSync(page, { recursive: true, force: true });
    }
  });
});
