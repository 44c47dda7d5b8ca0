import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, missing, PYTHON_TORCH } from '../../core/src/test-utils/requirements.js';
import type { LoadResult } from '../test/app/main.js';
import { withChromium } from './test-utils/chromium.js';
import { makeSeluModel, makeSlowModel } from './test-utils/dense-models.js';
import { makeTorchModels, maxAbsDiff, type TorchModels } from './test-utils/models.js';
import { type StaticServer, serveStatic } from './test-utils/static-server.js';
import { buildApp, TEST_APP } from './test-utils/vite-app.js';

async function openPage(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 30_000 });
}

function load(
  page: Page,
  base: string,
  options: Record<string, unknown>,
  runs = 0,
): Promise<LoadResult> {
  return page.evaluate(([b, o, r]) => window.aekitLoad(b, o, r), [base, options, runs] as const);
}

/** `navigator.gpu`, as far as these tests use it (TypeScript's DOM types have no WebGPU). */
type WithGpu = {
  gpu: {
    requestAdapter(): Promise<{
      info: { isFallbackAdapter?: boolean; architecture: string };
    } | null>;
  };
};

/** The class of `adapter.info`, whose `isFallbackAdapter` a test redefines. */
type AdapterInfoClass = { GPUAdapterInfo: { prototype: object } };

/** Makes the page's SwiftShader adapter pose as a hardware one (`isFallbackAdapter` false). */
function poseAsHardwareAdapter(page: Page): Promise<void> {
  return page.addInitScript(() => {
    Object.defineProperty(
      (globalThis as unknown as AdapterInfoClass).GPUAdapterInfo.prototype,
      'isFallbackAdapter',
      { get: () => false },
    );
  });
}

/**
 * Console lines that are errors or warnings (onnxruntime's native log comes as errors),
 * but for Chromium's own line for each 404 (the favicon, an optional aekit.json), which
 * no page script can silence.
 */
const noisy = (logs: readonly string[]) =>
  logs.filter(
    (l) =>
      /^(error|warning|pageerror):/.test(l) &&
      !l.includes('Failed to load resource: the server responded with a status of 404'),
  );

const graphRequests = (server: StaticServer, path: string) =>
  server.requests.filter((r) => r.startsWith(`GET ${path}`) && /\.onnx 200$/.test(r));

describe.skipIf(missing(CHROMIUM) || missing(PYTHON_TORCH))(
  'choosing the device, downloading once, running in a worker (Chromium)',
  () => {
    let models: TorchModels;
    let out: string;
    let server: StaticServer;
    let selu: string;
    let slow: string;

    beforeAll(async () => {
      models = makeTorchModels();
      selu = makeSeluModel();
      slow = makeSlowModel();
      out = mkdtempSync(join(tmpdir(), 'aekit-rtw-app-'));
      await buildApp(TEST_APP, out);
      server = await serveStatic({
        '/': out,
        '/models/': models.dir,
        '/selu/': selu,
        '/slow/': slow,
      });
    });
    afterAll(async () => {
      await server?.close();
      rmSync(out, { recursive: true, force: true });
      rmSync(models.dir, { recursive: true, force: true });
      rmSync(selu, { recursive: true, force: true });
      rmSync(slow, { recursive: true, force: true });
    });

    it("'auto' passes over SwiftShader for wasm, says why, and fetches only the wasm build", async () => {
      await withChromium(async (page, { logs }) => {
        await openPage(page, server.url);
        const adapter = await page.evaluate(async () => {
          const a = await (navigator as unknown as WithGpu).gpu.requestAdapter();
          return { fallback: a?.info.isFallbackAdapter, architecture: a?.info.architecture };
        });
        // headless Chromium here has only SwiftShader, which it marks as a fallback adapter
        expect(adapter).toEqual({ fallback: true, architecture: 'swiftshader' });
        const auto = await load(page, 'models/', {});
        expect(auto.info.device).toBe('wasm');
        expect(auto.info.deviceReason).toBe(
          'wasm: the only WebGPU adapter is a fallback (software) adapter (google swiftshader), slower than wasm',
        );
        expect(auto.info.skippedDevices).toEqual([
          'webgpu: the only WebGPU adapter is a fallback (software) adapter (google swiftshader), slower than wasm.',
        ]);
        const named = await load(page, 'models/', { device: 'wasm' });
        expect(named.info.deviceReason).toBe('"wasm" was asked for');
        // probing the adapter loads no onnxruntime build: the WebGPU one is never fetched
        const wasmFiles = server.requests.filter((r) => /\.wasm \d+$/.test(r));
        expect(wasmFiles).toHaveLength(1);
        expect(wasmFiles[0]).toMatch(/^GET \/assets\/ort-wasm-simd-threaded-[\w-]+\.wasm 200$/);
        expect(server.requests.some((r) => r.includes('asyncify'))).toBe(false);
        expect(noisy(logs)).toEqual([]);
      });
    });

    it("'auto' on a hardware adapter times wasm first and keeps it for a small model", async () => {
      await withChromium(async (page, { logs }) => {
        await poseAsHardwareAdapter(page);
        await openPage(page, server.url);
        const asyncify = () => server.requests.filter((r) => r.includes('asyncify')).length;
        const before = asyncify();
        const r = await load(page, 'models/', {});
        expect(r.info.device).toBe('wasm');
        // a 6 -> 3 encoder runs in well under WEBGPU_FLOOR_MS on wasm: WebGPU is not tried
        expect(r.info.deviceReason).toMatch(
          /^wasm: a batch-1 encode takes \d\.\d\d ms on wasm, under the 5 ms any WebGPU call costs$/,
        );
        expect(asyncify() - before).toBe(0);
        expect(noisy(logs)).toEqual([]);
      });
    });

    it("'auto' on a hardware adapter times both devices for a slow model and keeps the faster", async () => {
      await withChromium(async (page, { logs }) => {
        await poseAsHardwareAdapter(page);
        await openPage(page, server.url);
        const r = await load(page, 'slow/', {});
        const reason = String(r.info.deviceReason);
        console.log(`[runtime-web] 'auto' on the 256x256 convolutional encoder: ${reason}`);
        // On this machine its batch-1 encode takes 13 to 27 ms on wasm, above the 5 ms
        // floor, and 3 to 4 s on SwiftShader: WebGPU is loaded, timed and dropped. (A
        // machine whose wasm runs it under 5 ms never tries WebGPU.)
        if (reason.includes('under the')) return;
        expect(r.info.device).toBe('wasm');
        expect(reason).toMatch(
          /^wasm: wasm is as fast or faster for this model: wasm [\d.]+ ms, webgpu [\d.]+ ms per batch-1 encode$/,
        );
        expect(server.requests.some((q) => /asyncify-[\w-]+\.wasm 200$/.test(q))).toBe(true);
        expect(noisy(logs)).toEqual([]);
      });
    });

    it('prints no onnxruntime warnings on wasm or WebGPU', async () => {
      await withChromium(async (page, { logs }) => {
        await openPage(page, server.url);
        // SELU has no WebGPU kernel: on WebGPU it runs on the CPU, which onnxruntime reports
        // at severity 2 (warning) as two red console errors with ANSI colour codes per
        // session, unless told not to.
        for (const device of ['wasm', 'webgpu']) {
          const r = await load(page, 'selu/', { device, cache: false }, 3);
          expect(r.info.device).toBe(device);
        }
        expect(noisy(logs)).toEqual([]);
        // the control: asking for warnings brings them back
        await load(page, 'selu/', {
          device: 'webgpu',
          cache: false,
          sessionOptions: { logSeverityLevel: 2 },
        });
        expect(noisy(logs).join('\n')).toContain(
          'Some nodes were not assigned to the preferred execution providers',
        );
      });
    });

    it('reports download progress and caches the graphs for the next visit', async () => {
      await withChromium(async (page, { context, logs }) => {
        await openPage(page, server.url);
        // requests since this test began (earlier tests use the same server)
        const count = (path: string) => graphRequests(server, path).length;
        const vaeBefore = count('/models/vae/');
        const plainBefore = count('/models/encoder');
        const json = () =>
          server.requests.filter((r) => r === 'GET /models/vae/aekit.json 200').length;
        const jsonBefore = json();
        const vaeGets = () => count('/models/vae/') - vaeBefore;
        const plainGets = () => count('/models/encoder') - plainBefore;
        const first = await load(page, 'models/vae/', { device: 'wasm' });
        const last = first.progress.at(-1)!;
        expect(last.loaded).toBe(last.total);
        expect(last.total).toBeGreaterThan(0);
        expect(new Set(first.progress.map((p) => p.file))).toEqual(
          new Set(['encoder.onnx', 'decoder.onnx']),
        );
        expect(first.progress.every((p) => !p.cached)).toBe(true);
        expect(vaeGets()).toBe(2);

        // a second visit (another page of the same profile) reads the graphs from the cache;
        // aekit.json is fetched again, as its hash is the version
        const again = await context.newPage();
        await openPage(again, server.url);
        const second = await load(again, 'models/vae/', { device: 'wasm' });
        expect(vaeGets()).toBe(2);
        expect(second.progress.at(-1)).toMatchObject({ loaded: last.total, total: last.total });
        expect(second.progress.every((p) => p.cached)).toBe(true);
        expect(json() - jsonBefore).toBe(2);
        const keys = await again.evaluate(async () => {
          const cache = await caches.open('aekit-models-v1');
          return (await cache.keys()).map((k) => new URL(k.url).pathname + new URL(k.url).search);
        });
        expect(keys.sort()).toEqual([
          expect.stringMatching(/^\/models\/vae\/decoder\.onnx\?aekit-cache-version=[0-9a-f]{64}$/),
          expect.stringMatching(/^\/models\/vae\/encoder\.onnx\?aekit-cache-version=[0-9a-f]{64}$/),
        ]);

        // cache: false downloads them; a model without aekit.json or cacheKey is not cached
        await load(again, 'models/vae/', { device: 'wasm', cache: false });
        expect(vaeGets()).toBe(4);
        await load(again, 'models/', { device: 'wasm' });
        await load(again, 'models/', { device: 'wasm' });
        expect(plainGets()).toBe(2);
        // with a cacheKey it is
        await load(again, 'models/', { device: 'wasm', cacheKey: 'v1' });
        await load(again, 'models/', { device: 'wasm', cacheKey: 'v1' });
        expect(plainGets()).toBe(3);
        expect(noisy(logs)).toEqual([]);
      });
    });

    it('gives the same results in a worker as in the page', async () => {
      await withChromium(async (page, { logs }) => {
        await openPage(page, server.url);
        const { input, decodeInput } = models.expected;
        const calls = { encode: input, decode: decodeInput, reconstruct: input };
        const inPage = await page.evaluate(([c]) => window.aekitRun('models/', 'wasm', c), [
          calls,
        ] as const);
        const inWorker = await page.evaluate(
          ([c]) => window.aekitRun('models/', 'wasm', c, { worker: true }),
          [calls] as const,
        );
        expect(inWorker).toEqual(inPage);
        const auto = await load(page, 'models/', { worker: true });
        expect(auto.info).toMatchObject({ device: 'wasm', worker: true });
        expect(auto.info.deviceReason).toContain('fallback (software) adapter');
        expect(auto.progress.at(-1)!.loaded).toBeGreaterThan(0);

        const vaeArgs = [models.expected.input, 4, 7] as const;
        const vaePage = await page.evaluate(
          ([x, n, s]) => window.aekitVae('models/vae/', 'wasm', x, n, s),
          vaeArgs,
        );
        const vaeWorker = await page.evaluate(
          ([x, n, s]) => window.aekitVae('models/vae/', 'wasm', x, n, s, { worker: true }),
          vaeArgs,
        );
        expect(vaeWorker).toEqual(vaePage);
        // the torch reference too, as in browser.test.ts (1e-5: float32 summation order)
        expect(maxAbsDiff(vaeWorker.encoded.data, models.expected.vae.codings)).toBeLessThan(1e-5);

        // errors keep their aekit code across the worker boundary
        const errors = await page.evaluate(async () => {
          const loadAutoencoder = window.aekitLoadAutoencoder;
          const ae = await loadAutoencoder('models/', { device: 'wasm', worker: true });
          const wrong = await ae
            .encode(new Float32Array(7))
            .catch((e: { code?: string; message: string }) => `${e.code}: ${e.message}`);
          const noSample = await ae.sample(1).catch((e: { code?: string }) => e.code);
          await ae.dispose();
          const disposed = await ae
            .encode(new Float32Array(6))
            .catch((e: { code?: string }) => e.code);
          const missing = await loadAutoencoder('no-such-model/', { worker: true }).catch(
            (e: { code?: string }) => e.code,
          );
          // a worker script that does not load fails the load instead of hanging it
          const noWorker = await loadAutoencoder('models/', {
            worker: '/no-such-worker.js',
          }).catch((e: { code?: string; message: string }) => `${e.code}: ${e.message}`);
          // progress keeps coming for graphs fetched on first use (autoencoder.onnx)
          const files: string[] = [];
          const lazy = await loadAutoencoder('models/', {
            device: 'wasm',
            worker: true,
            onProgress: (p) => files.push(p.file),
          });
          await lazy.reconstruct(new Float32Array(6));
          await new Promise((r) => setTimeout(r, 200)); // its own port: no order with results
          await lazy.dispose();
          const lazyFiles = [...new Set(files)].sort();
          return { wrong, noSample, disposed, missing, noWorker, lazyFiles };
        });
        expect(errors.lazyFiles).toEqual(['autoencoder.onnx', 'decoder.onnx', 'encoder.onnx']);
        expect(errors.noWorker).toMatch(
          /^ModelLoadFailed: .*the Web Worker \/no-such-worker\.js failed: /,
        );
        expect(errors.wrong).toMatch(/^InvalidInput: .*the Float32Array holds 7 values/);
        expect(errors).toMatchObject({
          noSample: 'CapabilityMissing',
          disposed: 'ModelDisposed',
          missing: 'ModelLoadFailed',
        });

        // The page's models share one worker (one onnxruntime-web instance); the last
        // dispose ends it (every model above was disposed: no worker is left).
        await expect.poll(() => page.workers().length).toBe(0);
        await page.evaluate(async () => {
          const loadAutoencoder = window.aekitLoadAutoencoder;
          const a = await loadAutoencoder('models/', { device: 'wasm', worker: true });
          const b = await loadAutoencoder('models/vae/', { device: 'wasm', worker: true });
          (window as unknown as { pair: unknown[] }).pair = [a, b];
        });
        expect(page.workers().length).toBe(1);
        await page.evaluate(async () => {
          const [a, b] = (window as unknown as { pair: { dispose(): Promise<void> }[] }).pair;
          await a!.dispose();
          await b!.dispose();
        });
        await expect.poll(() => page.workers().length).toBe(0);
        expect(noisy(logs)).toEqual([]);
      });
    });
  },
);
