import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { registerBuiltinVariants } from '../register-all.js';

// The package's entry registers the built-in variants when imported; tests that import its
// modules directly (the engine, the runs) find them in the registry through this file.
registerBuiltinVariants();

/** A fresh temporary folder, removed when the test file ends. */
export function tempDir(prefix = 'aekit-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The float32 values of a saved network's weights.bin. */
export function savedWeights(run: string, network: string): Float32Array {
  const bytes = readFileSync(join(run, 'model', network, 'weights.bin'));
  return new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
}

/** Largest absolute difference between two arrays of the same length. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
