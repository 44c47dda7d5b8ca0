import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AekitError } from '@aekit/core/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, PYTHON_TORCH } from '../../core/src/test-utils/requirements.js';
import { loadAutoencoder } from './node.js';
import { makeTorchModels, type TorchModels } from './test-utils/models.js';

// No Vulkan driver at all (a driver list naming a file that does not exist), so that
// onnxruntime-node's WebGPU EP cannot start, on any machine. Its own test file: the EP keeps
// the first adapter it finds for the whole process.
process.env.VK_ICD_FILENAMES = join(tmpdir(), 'aekit-no-such-vulkan-driver.json');
process.env.XDG_RUNTIME_DIR ??= tmpdir();

describe.skipIf(missing(PYTHON_TORCH))('Node devices without WebGPU', () => {
  let models: TorchModels;
  beforeAll(() => {
    models = makeTorchModels();
  });
  afterAll(() => rmSync(models.dir, { recursive: true, force: true }));

  it("asking for 'webgpu' fails with DeviceUnavailable, naming 'cpu' as working", async () => {
    const err = await loadAutoencoder(models.dir, { device: 'webgpu' }).then(
      () => undefined,
      (e: unknown) => e as AekitError,
    );
    expect(err).toBeInstanceOf(AekitError);
    expect(err?.code).toBe('DeviceUnavailable');
    expect(err?.message).toMatch(
      /^Device "webgpu" cannot run here: .*adapter.*Devices that work here: "cpu", "wasm"\.$/,
    );
    console.log(`[runtime-web] ${err?.message}`);
  });

  it("'auto' falls back to the CPU without starting WebGPU, and says why", async () => {
    const ae = await loadAutoencoder(models.dir);
    expect(ae.info.device).toBe('cpu');
    expect(ae.info.skippedDevices).toHaveLength(1);
    // No GPU is likely (the driver list names no file), so Dawn is not even started.
    expect(ae.info.skippedDevices[0]).toMatch(
      /^webgpu: not tried, as no GPU is likely here: (VK_ICD_FILENAMES names no Vulkan driver manifest that exists|no Vulkan loader)/,
    );
    const z = await ae.encode(models.expected.input);
    expect(z.shape).toEqual([3, 3]);
    await ae.dispose();
  });
});
