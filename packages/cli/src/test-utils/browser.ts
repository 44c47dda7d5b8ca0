import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { withChromium } from '../../../runtime-web/src/test-utils/chromium.js';
import {
  type StaticServer,
  serveStatic,
} from '../../../runtime-web/src/test-utils/static-server.js';
import { buildApp, TEST_APP } from '../../../runtime-web/src/test-utils/vite-app.js';
import type { Calls } from '../../../runtime-web/test/app/main.js';

/** What an exported model must reproduce in the browser: tfjs's outputs on `inputs`. */
export interface BrowserReference {
  /** Samples, back to back. */
  readonly inputs: Float32Array;
  readonly sampleShape: readonly number[];
  readonly reconstruction: Float32Array;
  readonly codings: Float32Array;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** What `aekitRun` returned on one device. */
export type BrowserRun = Awaited<ReturnType<Window['aekitRun']>>;

/**
 * Builds runtime-web's test page with Vite, serves it with the folder `modelDir` at
 * `/models/` (the ONNX files, and any file the calls name, as `models/NAME`), and in
 * headless Chromium runs `calls` on each device; returns the outputs by device.
 */
export async function runInBrowser(
  modelDir: string,
  calls: Calls,
  devices: readonly string[],
): Promise<Record<string, BrowserRun>> {
  const app = mkdtempSync(join(tmpdir(), 'aekit-cli-app-'));
  let server: StaticServer | undefined;
  try {
    await buildApp(TEST_APP, app);
    server = await serveStatic({ '/': app, '/models/': modelDir });
    const url = server.url;
    const results: Record<string, BrowserRun> = {};
    await withChromium(async (page) => {
      await page.goto(url);
      await page.waitForFunction(() => document.title === 'ready', undefined, {
        timeout: 30_000,
      });
      for (const device of devices) {
        results[device] = await page.evaluate(([d, c]) => window.aekitRun('models/', d, c), [
          device,
          calls,
        ] as const);
        expect(results[device]!.device).toBe(device);
      }
    });
    return results;
  } finally {
    await server?.close();
    rmSync(app, { recursive: true, force: true });
  }
}

/**
 * In headless Chromium (runtime-web's test page), reconstructs and encodes
 * `reference.inputs` with the ONNX folder `modelDir` on each device, expecting tfjs's
 * outputs within that device's tolerance.
 */
export async function expectBrowserParity(
  modelDir: string,
  reference: BrowserReference,
  tolerances: Readonly<Record<'wasm' | 'webgpu', number>>,
): Promise<void> {
  const size = reference.sampleShape.reduce((a, b) => a * b, 1);
  const samples = Array.from({ length: reference.inputs.length / size }, (_, i) =>
    Array.from(reference.inputs.subarray(i * size, (i + 1) * size)),
  );
  const results = await runInBrowser(
    modelDir,
    { reconstruct: samples, encode: samples },
    Object.keys(tolerances),
  );
  for (const [device, tolerance] of Object.entries(tolerances)) {
    const result = results[device]!;
    expect(result.outputs.reconstruct!.shape).toEqual([samples.length, ...reference.sampleShape]);
    expect(
      maxAbsDiff(result.outputs.reconstruct!.data, reference.reconstruction),
      device,
    ).toBeLessThanOrEqual(tolerance);
    expect(maxAbsDiff(result.outputs.encode!.data, reference.codings), device).toBeLessThanOrEqual(
      tolerance,
    );
  }
}
