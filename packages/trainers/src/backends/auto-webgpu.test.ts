import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkGpuDrivers } from '@aekit/core/gpu-drivers';
import { afterAll, describe, expect, it } from 'vitest';
import { releaseBackend, selectBackend } from './index.js';

// A Vulkan driver list naming a file that does not exist: no GPU is likely, on any Linux
// machine (its own test file, as Dawn keeps what it found for the process).
process.env.VK_ICD_FILENAMES = join(tmpdir(), 'aekit-no-such-vulkan-driver.json');
afterAll(() => releaseBackend());

const navigatorGpu = () =>
  (globalThis as unknown as { navigator?: { gpu?: unknown } }).navigator?.gpu;

describe.skipIf(process.platform !== 'linux')('auto and WebGPU where no GPU is likely', () => {
  it('the driver check says why', () => {
    expect(checkGpuDrivers().likely).toBe(false);
  });

  it("'auto' does not start Dawn (so it prints nothing) and picks a CPU backend", async () => {
    const info = await selectBackend('auto');
    expect(['wasm', 'tensorflow']).toContain(info.name);
    expect(navigatorGpu()).toBeUndefined();
  });

  it("'webgpu' asked for by name still tries Dawn", async () => {
    const err = await selectBackend('webgpu').then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err?.code).toBe('BackendUnavailable');
    // Dawn was started and found no adapter (its own message, not the driver check's).
    expect(err?.message).toMatch(/no WebGPU adapter was found|`webgpu` package/);
    expect(err?.message).not.toMatch(/not tried/);
  });
});
