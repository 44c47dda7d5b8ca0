import { aekitErrorWithCause } from '@aekit/core';

interface GpuAdapterLike {
  info?: {
    vendor?: string;
    architecture?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
  isFallbackAdapter?: boolean;
}

/** What the WebGPU adapter in use is. */
export interface WebGpuAdapterDescription {
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
  /** A software adapter such as SwiftShader: correct but slow. */
  readonly software: boolean;
}

let installedGpu: { requestAdapter(): Promise<GpuAdapterLike | null> } | undefined;

/**
 * Gives Node the browser's WebGPU globals (from the `webgpu` package, Dawn) so that
 * tfjs-backend-webgpu finds `navigator.gpu`; it registers only if that exists when the
 * module is first imported, so this must run before that import. Returns the adapter
 * description, or throws `BackendUnavailable` when the package or an adapter is missing.
 */
export async function installNodeWebGpu(): Promise<WebGpuAdapterDescription> {
  const g = globalThis as unknown as { navigator?: { gpu?: unknown } } & Record<string, unknown>;
  if (!installedGpu && !g.navigator?.gpu) {
    let mod: { create(flags: string[]): unknown; globals: Record<string, unknown> };
    try {
      mod = (await import('webgpu')) as unknown as typeof mod;
    } catch (err) {
      throw aekitErrorWithCause(
        err,
        'BackendUnavailable',
        'webgpu',
        'the `webgpu` package (Dawn for Node) is not installed.',
      );
    }
    Object.assign(globalThis, mod.globals);
    installedGpu = mod.create([]) as typeof installedGpu;
    if (!g.navigator) {
      Object.defineProperty(globalThis, 'navigator', {
        value: {},
        configurable: true,
        writable: true,
      });
    }
    (g.navigator as Record<string, unknown>).gpu = installedGpu;
    // tfjs 4.22 still calls requestAdapterInfo(), which the spec removed in favour of `info`.
    const adapterProto = (
      globalThis as unknown as { GPUAdapter?: { prototype: Record<string, unknown> } }
    ).GPUAdapter?.prototype;
    if (adapterProto && !('requestAdapterInfo' in adapterProto)) {
      adapterProto.requestAdapterInfo = async function (this: GpuAdapterLike) {
        return this.info;
      };
    }
  }
  const gpu = (g.navigator?.gpu ?? installedGpu) as {
    requestAdapter(): Promise<GpuAdapterLike | null>;
  };
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    uninstallNodeWebGpu();
    throw aekitErrorWithCause(
      undefined,
      'BackendUnavailable',
      'webgpu',
      'no WebGPU adapter was found (no Vulkan driver or GPU).',
    );
  }
  const info = adapter.info ?? {};
  const description = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    description: info.description ?? '',
    software:
      Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) ||
      /swiftshader|llvmpipe|lavapipe/i.test(`${info.architecture} ${info.description}`),
  };
  return description;
}

/**
 * Removes the `navigator.gpu` installed by {@link installNodeWebGpu}: while it exists, Dawn
 * keeps Node's event loop alive and the process does not exit.
 */
export function uninstallNodeWebGpu(): void {
  if (!installedGpu) return;
  const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
  if (g.navigator) delete g.navigator.gpu;
  installedGpu = undefined;
}
