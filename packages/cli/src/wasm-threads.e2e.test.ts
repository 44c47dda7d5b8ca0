import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { BIN } from './test-utils/aekit.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-threads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function trainWith(threads: string, out: string): Promise<{ code: number; stderr: string }> {
  const args = [
    'train',
    '--variant',
    'stacked',
    '--limit',
    '1000',
    '--epochs',
    '2',
    '--batch-size',
    '128',
    '--backend',
    'wasm',
    '--no-figures',
    '--out',
    out,
  ];
  return new Promise((resolve) => {
    // A timeout turns a process kept alive by its worker threads into a failure.
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, AEKIT_WASM_THREADS: threads }, timeout: 120_000 },
      (error, _stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

const losses = (out: string) =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { loss: number }).loss);

describe('the multi-threaded wasm build (AEKIT_WASM_THREADS)', () => {
  it.skipIf(availableParallelism() < 2)(
    'trains with 2 threads to exactly the losses of 1 thread, and exits',
    async () => {
      const one = await trainWith('1', join(dir, 'one'));
      const two = await trainWith('2', join(dir, 'two'));
      expect(one.code).toBe(0);
      expect(two.code).toBe(0);
      expect(one.stderr).toContain('(WebAssembly (XNNPACK), one thread');
      expect(two.stderr).toContain('(WebAssembly (XNNPACK), 2 threads');
      // XNNPACK splits products by output tiles, each summed by one thread in the same order.
      expect(losses(join(dir, 'two'))).toEqual(losses(join(dir, 'one')));
    },
  );
});
