import { provideSimdModule, registerFusedKernels } from './fused-kernels.js';
import { KERNELS_WASM_BASE64 } from './simd/kernels-wasm.js';
import { installFastWasmKernels } from './wasm-kernels.js';

/** What {@link installFastKernels} set up. */
export interface FastKernels {
  /**
   * Whether the SIMD kernels compiled (every browser with WebAssembly SIMD: Chrome 91,
   * Firefox 89, Safari 16.4). Without them, what needs no SIMD still applies: products
   * handed to XNNPACK untransposed, shared clones, Adam's fused step in JavaScript.
   */
  readonly simd: boolean;
}

let installing: Promise<FastKernels> | undefined;

/**
 * Gives tfjs's wasm backend in a page the kernels that make aekit train fast on it in Node
 * (BLAS aside): the SIMD kernels of kernels.c (matrix products, fused Adam steps, the
 * sigmoid cross-entropy with its gradient, bias + activation and their gradients, SELU/ELU,
 * bias sums, convolution patches, pooling), clones that share their buffer, and the
 * convolution kernels tfjs lacks. Call it before training on the `wasm` backend
 * (before or after `tf.setBackend('wasm')`); the fused kernels then serve aekit's layers,
 * losses and Adam there. Idempotent.
 *
 * kernels.wasm travels inside this module as base64 (64 KB; 22 KB gzipped) rather than as a
 * file fetched from `new URL('./simd/kernels.wasm', import.meta.url)`: a bundler's dependency
 * pre-bundling (Vite's dev server, among others) moves modules away from their files and
 * breaks such URLs, and an app would have to serve the file besides. It is compiled here,
 * asynchronously and once, rather than at the kernels' first use, which is synchronous
 * inside a tfjs kernel: compiling there would block the page in the middle of a step.
 * Only tfjs's single-threaded wasm build gets the SIMD kernels (its memory is not shared);
 * with the threaded build the fused kernels fall back to tfjs's own.
 */
export function installFastKernels(): Promise<FastKernels> {
  installing ??= install();
  return installing;
}

async function install(): Promise<FastKernels> {
  // Registers the wasm backend and its kernels, which the fast ones wrap or replace.
  await import('@tensorflow/tfjs-backend-wasm');
  installFastWasmKernels();
  registerFusedKernels();
  let simd = false;
  try {
    const bytes = Uint8Array.from(atob(KERNELS_WASM_BASE64), (c) => c.charCodeAt(0));
    provideSimdModule(await WebAssembly.compile(bytes));
    simd = true;
  } catch {
    // No WebAssembly SIMD in this browser: the fused kernels keep tfjs's paths.
  }
  return { simd };
}
