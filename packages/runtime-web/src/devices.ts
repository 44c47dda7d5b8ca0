import { aekitError } from '@aekit/core/errors';

/**
 * Node's devices and the execution providers each one asks for. `cpu` and `webgpu` are
 * onnxruntime-node's (native CPU kernels; WebGPU through Dawn on Vulkan, Metal or D3D12),
 * for apps that install it; `wasm` is onnxruntime-web's WebAssembly build, which this
 * package always brings, so that a Node app runs models with nothing else installed.
 */
export const NODE_DEVICES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  cpu: Object.freeze(['cpu']),
  webgpu: Object.freeze(['webgpu']),
  wasm: Object.freeze(['wasm']),
});

/** Browser devices (onnxruntime-web) and the execution providers each one asks for. */
export const WEB_DEVICES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  wasm: Object.freeze(['wasm']),
  webgpu: Object.freeze(['webgpu']),
});

/** The name that lets the runtime pick: the first device of the platform's order that works. */
export const AUTO_DEVICE = 'auto';

/**
 * Checks that `device` names a device of `table` (or is `'auto'`), else throws
 * `UnknownDevice` listing every valid name.
 */
export function checkDeviceName(device: string, table: Readonly<Record<string, unknown>>): void {
  if (device === AUTO_DEVICE || Object.hasOwn(table, device)) return;
  throw aekitError('UnknownDevice', device, [AUTO_DEVICE, ...Object.keys(table)]);
}

/**
 * A device that cannot start here: thrown by a platform before a session exists, or made
 * from an ONNX Runtime error that is about the execution provider rather than the model.
 */
export class DeviceFailure extends Error {
  /** The device that failed. */
  readonly device: string;

  constructor(device: string, reason: string, cause?: unknown) {
    super(reason, cause === undefined ? undefined : { cause });
    this.name = 'DeviceFailure';
    this.device = device;
  }
}

/**
 * Messages ONNX Runtime gives when an execution provider (not the model) cannot start:
 * `no available backend found. ERR: [webgpu] …` (onnxruntime-web, also when the .wasm file
 * cannot be fetched) and `Failed to get a WebGPU adapter` (onnxruntime-node).
 */
const BACKEND_FAILURE = /no available backend|backend not found|adapter|execution provider/i;

/** Whether an error from creating a session says the device, not the model, is at fault. */
export function isDeviceProblem(err: unknown): boolean {
  return (
    err instanceof DeviceFailure ||
    (err instanceof Error && BACKEND_FAILURE.test(err.message)) ||
    (typeof err === 'string' && BACKEND_FAILURE.test(err))
  );
}

/**
 * One line for an error. ONNX Runtime's native messages start with a source location and
 * the failed check (`…/webgpu_context.cc:136 … was false. Failed to get a WebGPU adapter`);
 * only the part after the check is kept.
 */
export function reasonOf(err: unknown): string {
  let text = err instanceof Error ? err.message : String(err);
  const check = text.lastIndexOf(' was false. ');
  if (/^\S+\.(cc|cpp|h):\d+ /.test(text) && check >= 0) text = text.slice(check + 12);
  return text.replace(/\s+/g, ' ').trim();
}
