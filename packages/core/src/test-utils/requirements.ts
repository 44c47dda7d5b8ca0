import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

/**
 * Something a test needs from the machine that a user's machine may lack (a Debian package,
 * a data set). Tests ask {@link missing} at collection time: where it is here they run;
 * where it is missing they are skipped with a one-line reason naming the package, unless
 * `CI` is set (CI installs every one of them, so there a missing one is a failure).
 */
export interface Requirement {
  /** What the tests need, in a few words: `OpenBLAS`, `Chromium`. */
  readonly what: string;
  /** The Debian package that provides it. */
  readonly debian: string;
  /** Whether it is here (asked once per process). */
  readonly available: () => boolean;
  /**
   * Why it is switched off on purpose, when it is (e.g. `AEKIT_BLAS=off`): the tests are
   * then skipped, in CI too, since another run covers them.
   */
  readonly switchedOff?: () => string | undefined;
}

const found = new Map<Requirement, boolean>();
const noted = new Set<string>();

function note(line: string): void {
  if (noted.has(line)) return;
  noted.add(line);
  process.stderr.write(`${line}\n`);
}

/**
 * Whether tests that need `requirement` must be skipped here (use it as
 * `describe.skipIf(missing(X))` or `it.skipIf(missing(X))`). Prints the reason once; throws
 * where `CI` is set and it is missing.
 */
export function missing(requirement: Requirement): boolean {
  const off = requirement.switchedOff?.();
  if (off !== undefined) {
    note(`skipped: tests that need ${requirement.what} (${off})`);
    return true;
  }
  let here = found.get(requirement);
  if (here === undefined) {
    here = requirement.available();
    found.set(requirement, here);
  }
  if (here) return false;
  const install = `apt-get install ${requirement.debian}`;
  if (process.env.CI) {
    throw new Error(`${requirement.what} is missing, and CI must test with it: ${install}`);
  }
  note(`skipped: tests that need ${requirement.what} (Debian: ${install})`);
  return true;
}

/** Debian's Python, which has the python3-* packages (not a pyenv or venv one). */
export const PYTHON = process.env.AEKIT_PYTHON ?? '/usr/bin/python3';

/** A module {@link PYTHON} can import, from a Debian package. */
function pythonModule(module: string, debian: string, what: string): Requirement {
  return Object.freeze({
    what,
    debian,
    available: () =>
      spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0,
  });
}

/** PyTorch, the independent reference of the bench and the runtime's foreign models. */
export const PYTHON_TORCH = pythonModule('torch', 'python3-torch', 'PyTorch');
/** ONNX's own model checker. */
export const PYTHON_ONNX = pythonModule('onnx', 'python3-onnx', 'the onnx Python package');
/** scikit-learn's logistic regression, the linear probe's reference. */
export const PYTHON_SKLEARN = pythonModule('sklearn', 'python3-sklearn', 'scikit-learn');

/** Where Debian's Chromium is (`CHROMIUM_PATH` overrides it). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Chromium, for the browser tests; it also carries SwiftShader (WebGPU without a GPU). */
export const CHROMIUM: Requirement = Object.freeze({
  what: 'Chromium',
  debian: 'chromium',
  available: () => existsSync(CHROMIUM_PATH),
});

/** Chromium's SwiftShader Vulkan driver, with which Dawn finds a (software) WebGPU adapter. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** WebGPU in Node without a GPU: SwiftShader from chromium, and the Vulkan loader. */
export const SWIFTSHADER: Requirement = Object.freeze({
  what: 'a WebGPU adapter (SwiftShader)',
  debian: 'chromium libvulkan1',
  available: () =>
    existsSync(SWIFTSHADER_ICD) &&
    ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1'].some(
      existsSync,
    ),
});

/** The folder of Debian's Fashion-MNIST files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Fashion-MNIST, the second real data set. */
export const FASHION_MNIST: Requirement = Object.freeze({
  what: 'Fashion-MNIST',
  debian: 'dataset-fashion-mnist',
  available: () => existsSync(`${FASHION_MNIST_DIR}/train-images-idx3-ubyte.gz`),
});

/** Where Debian installs the PostgreSQL server, one folder per major version. */
const POSTGRESQL_ROOT = '/usr/lib/postgresql';

/** A PostgreSQL server (`initdb` and `pg_ctl`), to start a private one in a temporary folder. */
export const POSTGRESQL: Requirement = Object.freeze({
  what: 'a PostgreSQL server',
  debian: 'postgresql',
  available: () =>
    existsSync(POSTGRESQL_ROOT) &&
    readdirSync(POSTGRESQL_ROOT).some(
      (version) =>
        existsSync(`${POSTGRESQL_ROOT}/${version}/bin/initdb`) &&
        existsSync(`${POSTGRESQL_ROOT}/${version}/bin/pg_ctl`),
    ),
});

/** clang and lld, to rebuild the SIMD kernels (kernels.wasm) from their C source. */
export const CLANG: Requirement = Object.freeze({
  what: 'clang and wasm-ld',
  debian: 'clang lld',
  available: () =>
    ['clang', 'wasm-ld'].every(
      (tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0,
    ),
});

/**
 * Points Dawn's Vulkan loader at SwiftShader, where chromium is installed and no driver list
 * was given: the WebGPU tests then run without a GPU. Call it before the first WebGPU use.
 */
export function useSwiftShader(): void {
  if (existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
}
