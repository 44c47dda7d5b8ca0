import { AekitError, aekitError, aekitErrorWithCause } from '@aekit/core';
import { autoWebGpuSkipped } from '@aekit/core/gpu-drivers';
import * as tf from '@tensorflow/tfjs-core';
import { registerFusedKernels, wasmSimdKernels } from './fused-kernels.js';
import { installFastWasmKernels, wasmBlas } from './wasm-kernels.js';
import { prepareThreadedWasm, wasmThreadCount } from './wasm-threads.js';
import { installNodeWebGpu, uninstallNodeWebGpu } from './webgpu-node.js';

/** The backend names a user can ask for. */
export const BACKEND_NAMES = Object.freeze([
  'auto',
  'wasm',
  'cpu',
  'webgpu',
  'tensorflow',
] as const);

/** A backend a user can ask for. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What {@link selectBackend} started. */
export interface BackendInfo {
  /** The aekit name (`wasm`, `cpu`, `webgpu`, `tensorflow`). */
  readonly name: Exclude<BackendName, 'auto'>;
  /** The tfjs backend name (`wasm`, `cpu`, `webgpu`, `tensorflow`). */
  readonly tfjsName: string;
  /** Human details: device, adapter, package. */
  readonly detail: string;
}

interface BackendEntry {
  readonly tfjsName: string;
  /** Registers the tfjs backend; throws `BackendUnavailable` when it cannot. */
  readonly load: (forAuto: boolean) => Promise<string>;
  /** Runs once the backend is current. */
  readonly afterStart?: () => void;
}

/** Loads the first of `packages` that imports (each registers the `tensorflow` backend). */
async function loadTensorflow(packages: readonly string[]): Promise<string> {
  const failures: string[] = [];
  for (const pkg of packages) {
    try {
      await import(pkg);
      return pkg;
    } catch (err) {
      failures.push(`${pkg}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw aekitError(
    'BackendUnavailable',
    'tensorflow',
    `${packages.join(' and ')} could not be loaded (${failures.join('; ')}).`,
  );
}

/** The backends, by aekit name; `load` is lazy so nothing heavy is imported up front. */
const BACKENDS: Readonly<Record<Exclude<BackendName, 'auto'>, BackendEntry>> = Object.freeze({
  wasm: {
    tfjsName: 'wasm',
    load: async () => {
      const threads = wasmThreadCount();
      const finish = threads > 1 ? await prepareThreadedWasm(threads) : undefined;
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      installFastWasmKernels();
      registerFusedKernels();
      try {
        // Started here rather than by the caller, so the threaded start-up is undone at once.
        if (!(await tf.setBackend('wasm'))) {
          throw aekitError(
            'BackendUnavailable',
            'wasm',
            `tfjs could not start its wasm backend${threads > 1 ? ` with ${threads} threads (set AEKIT_WASM_THREADS=1 for the single-threaded build)` : ''}.`,
          );
        }
      } finally {
        finish?.();
      }
      const actual = wasm.getThreadsCount();
      const blas = wasmBlas();
      // Without BLAS, the single-threaded build multiplies with kernels.c (see wasm-kernels.ts).
      const products = blas
        ? `; matrix products on ${blas.description}`
        : actual === 1 && wasmSimdKernels(tf.backend())
          ? '; matrix products on SIMD kernels'
          : '';
      return `WebAssembly (XNNPACK), ${actual === 1 ? 'one thread' : `${actual} threads`}${products}`;
    },
  },
  cpu: {
    tfjsName: 'cpu',
    load: async () => {
      await import('@tensorflow/tfjs-backend-cpu');
      registerFusedKernels();
      return 'plain JavaScript';
    },
    // The cpu backend greets Node users once with advice to install tfjs-node; aekit's
    // `--backend tensorflow` and its error hint already cover that, so the greeting is muted.
    afterStart: () => {
      (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
    },
  },
  webgpu: {
    tfjsName: 'webgpu',
    load: async (forAuto) => {
      // Dawn prints native warnings when it finds no Vulkan driver; `auto` starts it only where
      // a GPU is likely. Asked for by name, it is always tried.
      const skipped = forAuto ? autoWebGpuSkipped() : undefined;
      if (skipped !== undefined) {
        throw aekitError(
          'BackendUnavailable',
          'webgpu',
          `${skipped} (--backend webgpu tries anyway).`,
        );
      }
      const adapter = await installNodeWebGpu();
      if (forAuto && adapter.software) {
        uninstallNodeWebGpu();
        throw aekitError(
          'BackendUnavailable',
          'webgpu',
          `the only adapter is a software one (${adapter.architecture || adapter.description}), slower than wasm.`,
        );
      }
      try {
        await import('@tensorflow/tfjs-backend-webgpu');
      } catch (err) {
        uninstallNodeWebGpu();
        throw aekitErrorWithCause(
          err,
          'BackendUnavailable',
          'webgpu',
          '@tensorflow/tfjs-backend-webgpu is not installed.',
        );
      }
      return `WebGPU on ${[adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(' ')}`;
    },
  },
  tensorflow: {
    tfjsName: 'tensorflow',
    load: () => loadTensorflow(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']),
  },
});

/** `auto` tries TensorFlow with CUDA first, plain TensorFlow only after WebGPU. */
const TENSORFLOW_GPU: BackendEntry = {
  tfjsName: 'tensorflow',
  load: () => loadTensorflow(['@tensorflow/tfjs-node-gpu']),
};
const TENSORFLOW_CPU: BackendEntry = {
  tfjsName: 'tensorflow',
  load: () => loadTensorflow(['@tensorflow/tfjs-node']),
};

/** The order `auto` tries, fastest first. */
const AUTO_ORDER: readonly (readonly [Exclude<BackendName, 'auto'>, BackendEntry])[] = [
  ['tensorflow', TENSORFLOW_GPU],
  ['webgpu', BACKENDS.webgpu],
  ['tensorflow', TENSORFLOW_CPU],
  ['wasm', BACKENDS.wasm],
  ['cpu', BACKENDS.cpu],
];

async function start(
  name: Exclude<BackendName, 'auto'>,
  entry: BackendEntry,
  forAuto: boolean,
): Promise<BackendInfo> {
  const detail = await entry.load(forAuto);
  let ok: boolean;
  try {
    ok = await tf.setBackend(entry.tfjsName);
  } catch (err) {
    throw aekitErrorWithCause(err, 'BackendUnavailable', name, (err as Error).message);
  }
  if (!ok)
    throw aekitError(
      'BackendUnavailable',
      name,
      `tfjs could not initialise the "${entry.tfjsName}" backend.`,
    );
  await tf.ready();
  entry.afterStart?.();
  return { name, tfjsName: entry.tfjsName, detail };
}

/**
 * Starts the backend `name` and makes it tfjs's current one. `auto` tries, in order:
 * tfjs-node-gpu (if the user installed it), WebGPU on a hardware adapter, tfjs-node (if
 * installed), wasm, cpu; when every one fails the error lists each failure. `auto` starts
 * WebGPU (Dawn) only where `checkGpuDrivers` of `@aekit/core/gpu-drivers` finds a GPU likely,
 * so that CPU-only machines see none of Dawn's native warnings.
 */
export async function selectBackend(name: string = 'auto'): Promise<BackendInfo> {
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw aekitError('UnknownBackend', name, BACKEND_NAMES);
  }
  if (name !== 'auto') {
    const fixed = name as Exclude<BackendName, 'auto'>;
    return start(fixed, BACKENDS[fixed], false);
  }
  const failures: string[] = [];
  for (const [candidate, entry] of AUTO_ORDER) {
    try {
      return await start(candidate, entry, true);
    } catch (err) {
      failures.push(`${candidate}: ${err instanceof AekitError ? err.message : String(err)}`);
    }
  }
  throw aekitError('NoBackend', failures);
}

/**
 * Releases what the current backend holds that would keep Node alive (the WebGPU device).
 * Call it when training is over in a process that should exit.
 */
export function releaseBackend(): void {
  uninstallNodeWebGpu();
}
