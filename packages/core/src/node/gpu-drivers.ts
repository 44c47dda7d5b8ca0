/**
 * Whether a hardware GPU is likely to be reachable through WebGPU (Dawn), found from files
 * alone: nothing is loaded and no native code runs. `auto` device choices ask this before
 * they start Dawn, whose warnings about a missing Vulkan driver (`Couldn't load Vulkan`,
 * `vkCreateInstance: Found no drivers!`) come from native code and cannot be silenced.
 * Its own entry (`@aekit/core/gpu-drivers`): it imports nothing but `node:fs` and `node:path`,
 * so runtimes load it without the data readers of `@aekit/core/node`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/** What {@link checkGpuDrivers} found. */
export interface GpuDriverCheck {
  /** Whether starting Dawn is worth it: it is likely to find a hardware (or named) adapter. */
  readonly likely: boolean;
  /** What was found, or what is missing, in words (for messages). */
  readonly reason: string;
}

/** Environment variables, as `process.env` holds them. */
type Env = Readonly<Record<string, string | undefined>>;

/** Options of {@link checkGpuDrivers}; the defaults are this process's. */
export interface GpuDriverCheckOptions {
  /** The operating system (default `process.platform`). */
  readonly platform?: NodeJS.Platform;
  /** The environment (default `process.env`): Vulkan's driver variables and XDG folders. */
  readonly env?: Env;
  /** A folder that stands for `/` (tests build a fake system in it); default `/`. */
  readonly root?: string;
}

/** The Vulkan loader's file, which Dawn opens on Linux. */
const VULKAN_LOADER = 'libvulkan.so.1';

/** Vulkan drivers that run on the CPU: slower than wasm (and Dawn rejects lavapipe). */
const SOFTWARE_DRIVER = /lvp|lavapipe|llvmpipe|swiftshader/i;

/** Device files a hardware GPU driver talks through (DRM, NVIDIA, WSL, Android). */
const GPU_DEVICE = /^(nvidia\d+|dxg|kgsl-3d\d+|mali\d+|galcore)$/;

/** `a:b:c` as a list, empty parts dropped. */
const pathList = (value: string | undefined): string[] =>
  (value ?? '').split(':').filter((p) => p.length > 0);

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Where the Vulkan loader looks for driver manifests when no variable names them: the XDG
 * config and data folders (with their defaults) and `/etc`, each with `vulkan/icd.d`.
 */
function standardDriverDirs(env: Env): string[] {
  const home = env.HOME;
  const config = [
    env.XDG_CONFIG_HOME ?? (home ? join(home, '.config') : undefined),
    ...pathList(env.XDG_CONFIG_DIRS ?? '/etc/xdg'),
    '/etc',
  ];
  const data = [
    env.XDG_DATA_HOME ?? (home ? join(home, '.local/share') : undefined),
    ...pathList(env.XDG_DATA_DIRS),
    // The loader's defaults, also searched when XDG_DATA_DIRS names other folders: missing
    // a GPU costs more than a probe.
    '/usr/local/share',
    '/usr/share',
  ];
  return [...new Set([...config, ...data])]
    .filter((d): d is string => d !== undefined)
    .map((d) => join(d, 'vulkan', 'icd.d'));
}

/** The driver manifests `entry` names: the file itself, or the `.json` files of a folder. */
function manifestsIn(entry: string): string[] {
  try {
    if (statSync(entry).isDirectory()) {
      return listDir(entry)
        .filter((f) => f.endsWith('.json'))
        .map((f) => join(entry, f));
    }
    return [entry];
  } catch {
    return [];
  }
}

/** Whether a driver manifest describes a CPU driver (by its name or its library's). */
function isSoftwareDriver(manifest: string): boolean {
  if (SOFTWARE_DRIVER.test(basename(manifest))) return true;
  try {
    const json = JSON.parse(readFileSync(manifest, 'utf8')) as {
      ICD?: { library_path?: string };
    };
    return SOFTWARE_DRIVER.test(json.ICD?.library_path ?? '');
  } catch {
    return false;
  }
}

/** Whether the dynamic linker can find the Vulkan loader. */
function hasVulkanLoader(at: (path: string) => string, env: Env): boolean {
  const dirs = [
    ...pathList(env.LD_LIBRARY_PATH),
    '/lib',
    '/usr/lib',
    '/lib64',
    '/usr/lib64',
    '/usr/local/lib',
    ...['x86_64', 'aarch64', 'arm', 'riscv64', 'powerpc64le', 's390x'].flatMap((arch) => [
      `/lib/${arch}-linux-gnu`,
      `/usr/lib/${arch}-linux-gnu`,
      `/usr/lib/${arch}-linux-gnueabihf`,
    ]),
  ];
  if (dirs.some((d) => existsSync(at(join(d, VULKAN_LOADER))))) return true;
  // glibc's cache of the folders in /etc/ld.so.conf holds the library names as strings.
  try {
    return readFileSync(at('/etc/ld.so.cache')).includes(`${VULKAN_LOADER}\0`);
  } catch {
    return false;
  }
}

/** A GPU's device file under /dev, if there is one. */
function gpuDevice(at: (path: string) => string): string | undefined {
  const render = listDir(at('/dev/dri')).find((f) => /^(renderD|card)\d+$/.test(f));
  if (render) return `/dev/dri/${render}`;
  const other = listDir(at('/dev')).find((f) => GPU_DEVICE.test(f));
  return other ? `/dev/${other}` : undefined;
}

/**
 * Says, from files alone, whether WebGPU is likely to find a GPU here, so that `auto`
 * choices start Dawn only then. macOS (Metal) and Windows (Direct3D 12): always. Linux: when
 * the Vulkan loader (`libvulkan.so.1`) can be found and either `VK_DRIVER_FILES`,
 * `VK_ICD_FILENAMES` or `VK_ADD_DRIVER_FILES` names a driver manifest that exists (the user
 * chose the driver, even a software one such as SwiftShader), or the standard folders hold
 * the manifest of a hardware driver (not lavapipe, llvmpipe or SwiftShader) and a GPU
 * device file exists (`/dev/dri/renderD*`, `/dev/nvidia*`, WSL's `/dev/dxg`). Other systems:
 * always (nothing is known to check).
 */
export function checkGpuDrivers(options: GpuDriverCheckOptions = {}): GpuDriverCheck {
  const platform = options.platform ?? process.platform;
  if (platform === 'darwin') return { likely: true, reason: 'macOS has Metal' };
  if (platform === 'win32') return { likely: true, reason: 'Windows has Direct3D 12' };
  if (platform !== 'linux') return { likely: true, reason: `not checked on ${platform}` };
  const env = options.env ?? process.env;
  const root = options.root;
  const at = (path: string) => (root ? join(root, path) : path);

  if (!hasVulkanLoader(at, env)) {
    return { likely: false, reason: `no Vulkan loader (${VULKAN_LOADER}) is installed` };
  }
  const namedBy = ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES'].find((v) => env[v]);
  const added = pathList(env.VK_ADD_DRIVER_FILES).flatMap((e) => manifestsIn(at(e)));
  if (namedBy) {
    const named = [...pathList(env[namedBy]).flatMap((e) => manifestsIn(at(e))), ...added];
    return named.length > 0
      ? { likely: true, reason: `${namedBy} names ${named.map((m) => basename(m)).join(', ')}` }
      : {
          likely: false,
          reason: `${namedBy} names no Vulkan driver manifest that exists (${env[namedBy]})`,
        };
  }
  const manifests = [
    ...added,
    ...standardDriverDirs(env).flatMap((d) => manifestsIn(at(d))),
  ].filter((m, i, all) => all.indexOf(m) === i);
  const hardware = manifests.filter((m) => !isSoftwareDriver(m)).map((m) => basename(m));
  if (hardware.length === 0) {
    return {
      likely: false,
      reason:
        manifests.length > 0
          ? `the only Vulkan drivers are software ones (${manifests.map((m) => basename(m)).join(', ')}), slower than wasm`
          : 'no Vulkan driver is installed (no manifest in the vulkan/icd.d folders)',
    };
  }
  const device = gpuDevice(at);
  if (!device) {
    return {
      likely: false,
      reason: `Vulkan drivers are installed (${hardware.join(', ')}) but there is no GPU device (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg)`,
    };
  }
  return { likely: true, reason: `Vulkan driver ${hardware.join(', ')} and ${device}` };
}

/**
 * Why an `auto` choice should not start WebGPU here (`not tried, as no GPU is likely here:
 * …`), or `undefined` where {@link checkGpuDrivers} finds a GPU likely.
 */
export function autoWebGpuSkipped(options: GpuDriverCheckOptions = {}): string | undefined {
  const drivers = checkGpuDrivers(options);
  return drivers.likely ? undefined : `not tried, as no GPU is likely here: ${drivers.reason}`;
}
