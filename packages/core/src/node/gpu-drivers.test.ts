import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkGpuDrivers } from './gpu-drivers.js';

/** A fake `/` holding `files` (path -> contents), for one test. */
let root: string | undefined;
function fakeRoot(files: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), 'aekit-gpu-drivers-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

const LOADER = { '/usr/lib/x86_64-linux-gnu/libvulkan.so.1': '' };
const icd = (library: string) => JSON.stringify({ ICD: { library_path: library } });
const NVIDIA = { '/usr/share/vulkan/icd.d/nvidia_icd.json': icd('libGLX_nvidia.so.0') };
const LAVAPIPE = { '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json': icd('libvulkan_lvp.so') };
const RADEON = {
  '/usr/share/vulkan/icd.d/radeon_icd.x86_64.json': icd(
    '/usr/lib/x86_64-linux-gnu/libvulkan_radeon.so',
  ),
};
const check = (files: Record<string, string>, env: Record<string, string> = {}) =>
  checkGpuDrivers({ platform: 'linux', root: fakeRoot(files), env });

describe('checkGpuDrivers', () => {
  it('macOS and Windows always have a GPU API; other systems are not checked', () => {
    expect(checkGpuDrivers({ platform: 'darwin' })).toEqual({
      likely: true,
      reason: 'macOS has Metal',
    });
    expect(checkGpuDrivers({ platform: 'win32' }).likely).toBe(true);
    expect(checkGpuDrivers({ platform: 'freebsd' }).likely).toBe(true);
  });

  it('Linux without the Vulkan loader: not likely, whatever the drivers', () => {
    expect(check({ ...NVIDIA, '/dev/nvidia0': '' })).toEqual({
      likely: false,
      reason: 'no Vulkan loader (libvulkan.so.1) is installed',
    });
  });

  it('finds the loader through LD_LIBRARY_PATH and through /etc/ld.so.cache', () => {
    const files = { ...NVIDIA, '/dev/nvidia0': '' };
    expect(
      check({ ...files, '/opt/vk/libvulkan.so.1': '' }, { LD_LIBRARY_PATH: '/opt/vk' }),
    ).toMatchObject({ likely: true });
    expect(
      check({ ...files, '/etc/ld.so.cache': 'glibc-ld.so.cache\0libvulkan.so.1\0/x\0' }),
    ).toMatchObject({ likely: true });
  });

  it('the loader and no driver (a fresh machine after apt-get install libvulkan1): not likely', () => {
    expect(check(LOADER)).toEqual({
      likely: false,
      reason: 'no Vulkan driver is installed (no manifest in the vulkan/icd.d folders)',
    });
  });

  it('only software drivers (lavapipe): not likely, by file or library name', () => {
    expect(check({ ...LOADER, ...LAVAPIPE, '/dev/dri/renderD128': '' })).toEqual({
      likely: false,
      reason: 'the only Vulkan drivers are software ones (lvp_icd.x86_64.json), slower than wasm',
    });
    const renamed = { '/etc/vulkan/icd.d/cpu.json': icd('libvk_swiftshader.so') };
    expect(check({ ...LOADER, ...renamed }).likely).toBe(false);
  });

  it('hardware drivers without a GPU device (mesa-vulkan-drivers on a server): not likely', () => {
    expect(check({ ...LOADER, ...LAVAPIPE, ...RADEON })).toEqual({
      likely: false,
      reason:
        'Vulkan drivers are installed (radeon_icd.x86_64.json) but there is no GPU device (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg)',
    });
  });

  it('a hardware driver and its device: likely', () => {
    expect(check({ ...LOADER, ...RADEON, '/dev/dri/renderD128': '' })).toEqual({
      likely: true,
      reason: 'Vulkan driver radeon_icd.x86_64.json and /dev/dri/renderD128',
    });
    expect(check({ ...LOADER, ...NVIDIA, '/dev/nvidia0': '' }).reason).toBe(
      'Vulkan driver nvidia_icd.json and /dev/nvidia0',
    );
    // WSL: the GPU is reached through /dev/dxg.
    expect(
      check({ ...LOADER, '/etc/vulkan/icd.d/dzn_icd.x86_64.json': '{}', '/dev/dxg': '' }),
    ).toMatchObject({ likely: true });
  });

  it('searches XDG_DATA_DIRS and the XDG config folders too', () => {
    const files = { ...LOADER, '/dev/nvidia0': '' };
    const inOpt = { '/opt/share/vulkan/icd.d/nvidia_icd.json': icd('libGLX_nvidia.so.0') };
    expect(check({ ...files, ...inOpt }, { XDG_DATA_DIRS: '/opt/share' }).likely).toBe(true);
    const inHome = { '/home/u/.config/vulkan/icd.d/nvidia_icd.json': '{}' };
    expect(check({ ...files, ...inHome }, { HOME: '/home/u' }).likely).toBe(true);
  });

  it('a driver named by VK_ICD_FILENAMES or VK_DRIVER_FILES is used as named, even a software one', () => {
    const swiftshader = {
      '/usr/lib/chromium/vk_swiftshader_icd.json': icd('./libvk_swiftshader.so'),
    };
    const named = check(
      { ...LOADER, ...swiftshader },
      { VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' },
    );
    expect(named).toEqual({
      likely: true,
      reason: 'VK_ICD_FILENAMES names vk_swiftshader_icd.json',
    });
    // A folder works for VK_DRIVER_FILES, which wins over VK_ICD_FILENAMES.
    expect(
      check(
        { ...LOADER, ...swiftshader },
        { VK_DRIVER_FILES: '/usr/lib/chromium', VK_ICD_FILENAMES: '/nothing.json' },
      ).reason,
    ).toBe('VK_DRIVER_FILES names vk_swiftshader_icd.json');
    // Named drivers replace the standard folders: a hardware one there does not count.
    expect(
      check({ ...LOADER, ...NVIDIA, '/dev/nvidia0': '' }, { VK_ICD_FILENAMES: '/nothing.json' }),
    ).toEqual({
      likely: false,
      reason: 'VK_ICD_FILENAMES names no Vulkan driver manifest that exists (/nothing.json)',
    });
  });

  it('VK_ADD_DRIVER_FILES adds to the standard folders', () => {
    const extra = { '/opt/nvidia.json': icd('libGLX_nvidia.so.0'), '/dev/nvidia0': '' };
    expect(check({ ...LOADER, ...extra }, { VK_ADD_DRIVER_FILES: '/opt/nvidia.json' })).toEqual({
      likely: true,
      reason: 'Vulkan driver nvidia.json and /dev/nvidia0',
    });
  });

  it('answers for this machine without throwing', () => {
    const here = checkGpuDrivers();
    console.log(`[core] GPU drivers here: ${JSON.stringify(here)}`);
    expect(typeof here.likely).toBe('boolean');
    expect(here.reason.length).toBeGreaterThan(0);
  });
});
