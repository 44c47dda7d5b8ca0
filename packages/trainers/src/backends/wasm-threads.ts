import { createRequire } from 'node:module';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';

/** Most threads the wasm backend is given. */
const MAX_THREADS = 8;

/**
 * Threads for the wasm backend in Node, from `AEKIT_WASM_THREADS`: a number, or `auto` for
 * every available core (at most 8). Unset means 1, the single-threaded build: measured on
 * 2 cores, two threads speed up batches of 256 (+4% to +18%) but slow down batches of 32
 * (-10% to -21%), whose products are too small to share.
 */
export function wasmThreadCount(): number {
  const asked = process.env.AEKIT_WASM_THREADS;
  if (asked === 'auto') return Math.max(1, Math.min(os.availableParallelism(), MAX_THREADS));
  const n = Number(asked);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_THREADS) : 1;
}

interface WasmModule {
  PThread?: { unusedWorkers: { unref(): void }[]; runningWorkers: { unref(): void }[] };
}

/**
 * Lets tfjs-backend-wasm start its multi-threaded (XNNPACK + pthreads) build in Node, which
 * tfjs 4.22 disables there because its pthread workers come from `blob:` URLs:
 * - the `WASM_HAS_MULTITHREAD_SUPPORT` flag is set and the thread count given;
 * - the worker's `blob:` URL is answered with a file (wasm-pthread-worker.cjs);
 * - tfjs sizes its thread pool as half the logical cores (it assumes two hardware threads
 *   per core), so during start-up the core count it reads is doubled to give `threads`.
 * Call the returned function once `tf.setBackend('wasm')` has finished: it restores what was
 * patched and unreferences the workers so that they do not keep Node alive.
 */
export async function prepareThreadedWasm(threads: number): Promise<() => void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  // Resolved through the package's exports, so it is found from the sources (tests) too.
  const workerFile = createRequire(import.meta.url).resolve('@aekit/trainers/wasm-pthread-worker');
  const createObjectURL = URL.createObjectURL;
  URL.createObjectURL = (obj: Blob) =>
    obj instanceof Blob && obj.type === 'application/javascript'
      ? workerFile
      : createObjectURL(obj);
  const cpus = os.cpus;
  const doubled = () => {
    const list = cpus();
    const one = list[0] ?? list[list.length - 1];
    return Array.from({ length: 2 * threads }, () => one!);
  };
  os.cpus = doubled;
  return () => {
    URL.createObjectURL = createObjectURL;
    os.cpus = cpus;
    if (tf.getBackend() !== 'wasm') return;
    const module = (tf.backend() as unknown as { wasm?: WasmModule }).wasm;
    for (const worker of [
      ...(module?.PThread?.unusedWorkers ?? []),
      ...(module?.PThread?.runningWorkers ?? []),
    ]) {
      worker.unref();
    }
  };
}
