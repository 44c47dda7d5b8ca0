/**
 * Node's built-in module `id`, or undefined in a browser. Reached through
 * `process.getBuiltinModule` rather than imported, so that the wasm kernels that consult
 * this file (wasm-kernels.ts) also bundle and run in pages, where there is no BLAS to load.
 */
function nodeBuiltin<T>(id: string): T | undefined {
  const process = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process;
  return process?.getBuiltinModule?.(id) as T | undefined;
}

/** `C = alpha * op(A) * op(B) + beta * C`, row-major, on float32 views (CBLAS `sgemm`). */
export type Sgemm = (
  transposeA: boolean,
  transposeB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
) => void;

/** A CBLAS library found on this machine. */
export interface Blas {
  readonly sgemm: Sgemm;
  /** What was loaded, for reports: e.g. `OpenBLAS 0.3.21, 2 threads`. */
  readonly description: string;
  /** Threads the library uses for one product (0: the library's own choice, unknown). */
  readonly threads: number;
  /** Sets the threads (where the library allows it); returns whether it did. */
  setThreads(n: number): boolean;
}

const CBLAS_ROW_MAJOR = 101;
const CBLAS_NO_TRANS = 111;
const CBLAS_TRANS = 112;

/** Libraries tried in order, per platform: OpenBLAS first (what PyTorch and NumPy ship with). */
const CANDIDATES: Readonly<Record<string, readonly string[]>> = {
  linux: [
    'libopenblas.so.0',
    'libopenblasp.so.0',
    'libopenblas.so',
    'libmkl_rt.so.2',
    'libmkl_rt.so',
  ],
  darwin: [
    '/opt/homebrew/opt/openblas/lib/libopenblas.dylib',
    '/usr/local/opt/openblas/lib/libopenblas.dylib',
    '/System/Library/Frameworks/Accelerate.framework/Accelerate',
  ],
  win32: ['libopenblas.dll', 'mkl_rt.2.dll'],
};

/** Most threads given to the library. */
const MAX_THREADS = 16;

/**
 * Threads for the library, from `AEKIT_BLAS_THREADS` (a number); unset means every available
 * core, as PyTorch does.
 */
export function blasThreadCount(): number {
  const n = Number(process.env.AEKIT_BLAS_THREADS);
  if (Number.isInteger(n) && n >= 1) return Math.min(n, MAX_THREADS);
  const os = nodeBuiltin<typeof import('node:os')>('node:os');
  return Math.max(1, Math.min(os?.availableParallelism() ?? 1, MAX_THREADS));
}

interface KoffiLib {
  func(signature: string): (...args: unknown[]) => unknown;
}
interface Koffi {
  load(path: string): KoffiLib;
}

let cached: Blas | null | undefined;

/**
 * Finds a CBLAS library (OpenBLAS, MKL or Accelerate) through the koffi FFI, an optional
 * dependency, and returns its `sgemm`; `null` when there is none, `AEKIT_BLAS=off`, or in a
 * browser.
 * `AEKIT_BLAS=/path/to/lib` names the library to use. The search runs once per process.
 *
 * Why: tfjs's wasm build multiplies matrices with a 2021 XNNPACK at about 20 GFLOP/s on
 * one thread and cannot skip transposes; an optimised BLAS does transposed products
 * directly at 90+ GFLOP/s per core on the same machine (the products of dense-layer
 * training are most of its time).
 */
export function loadBlas(): Blas | null {
  if (cached !== undefined) return cached;
  cached = findBlas();
  return cached;
}

function findBlas(): Blas | null {
  // In a browser: no native libraries (the products run in XNNPACK, see wasm-kernels.ts).
  const nodeModule = nodeBuiltin<typeof import('node:module')>('node:module');
  if (!nodeModule) return null;
  const asked = process.env.AEKIT_BLAS;
  if (asked === 'off' || asked === '0') return null;
  let koffi: Koffi;
  try {
    koffi = nodeModule.createRequire(import.meta.url)('koffi') as Koffi;
  } catch {
    return null;
  }
  const candidates = asked ? [asked] : (CANDIDATES[process.platform] ?? []);
  for (const path of candidates) {
    let lib: KoffiLib;
    try {
      lib = koffi.load(path);
    } catch {
      continue;
    }
    const optional = (signature: string) => {
      try {
        return lib.func(signature);
      } catch {
        return undefined;
      }
    };
    const cblasSgemm = optional(
      'void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float beta, _Inout_ float *c, int ldc)',
    );
    if (!cblasSgemm) continue;
    const setThreads =
      optional('void openblas_set_num_threads(int n)') ??
      optional('void MKL_Set_Num_Threads(int n)');
    const config = optional('const char *openblas_get_config()')?.() as string | undefined;
    const name = config ? config.split(' ').slice(0, 2).join(' ') : (path.split('/').pop() ?? path);
    const sgemm: Sgemm = (ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc) => {
      cblasSgemm(
        CBLAS_ROW_MAJOR,
        ta ? CBLAS_TRANS : CBLAS_NO_TRANS,
        tb ? CBLAS_TRANS : CBLAS_NO_TRANS,
        m,
        n,
        k,
        1,
        a,
        lda,
        b,
        ldb,
        beta,
        c,
        ldc,
      );
    };
    let threads = 0;
    const blas: Blas = {
      sgemm,
      get description() {
        return threads ? `${name}, ${threads === 1 ? 'one thread' : `${threads} threads`}` : name;
      },
      get threads() {
        return threads;
      },
      setThreads(n) {
        if (!setThreads) return false;
        threads = Math.max(1, Math.min(Math.floor(n), MAX_THREADS));
        setThreads(threads);
        return true;
      },
    };
    blas.setThreads(blasThreadCount());
    return blas;
  }
  return null;
}
