/**
 * How `'auto'` picks a browser device: never a fallback (software) WebGPU adapter, and
 * WebGPU over wasm only when a timed call says it is faster for this model.
 */
import { sizeOf } from './input.js';
import type { Autoencoder } from './session.js';

/**
 * The least a WebGPU call costs in ms, whatever the model: upload, dispatch and the
 * read-back of a batch-1 encode of the smallest model. A model whose wasm call is faster
 * keeps wasm without WebGPU being tried: no GPU can win it back, since each call pays at
 * least that round trip.
 *
 * Measured by `device-timing.test.ts` on a shared 2-core x86 machine, headless Chromium 150,
 * WebGPU on SwiftShader (the only adapter there): the median of 9 warm batch-1 encodes after
 * 3 warm-up calls, dense encoders 784 -> h -> 32 (ReLU), two runs:
 *
 * | h    | weights | wasm (ms)   | webgpu (ms)  | load (ms): wasm, webgpu |
 * | ---- | ------- | ----------- | ------------ | ----------------------- |
 * | 64   | 52 K    | 0.15 / 0.19 | 13.0 / 11.3  | 2241 cold, 8006 cold    |
 * | 512  | 418 K   | 0.18 / 0.20 | 36.7 / 59.1  | 208, 336                |
 * | 2048 | 1.7 M   | 0.18 / 0.21 | 120 / 125    | 548, 477                |
 * | 8192 | 6.7 M   | 1.97 / 1.53 | 877 / 514    | 1482, 1245              |
 *
 * A third run, on the same machine under a full test suite, gave 0.16, 0.10, 0.19 and
 * 0.92 ms on wasm and 7.3, 109, 139 and 503 ms on WebGPU.
 *
 * WebGPU's smallest call, 7.3 to 13 ms here, is the round trip through the GPU process and
 * `mapAsync`; 5 ms keeps below it. On this machine wasm stays under it up to 6.7 M weights,
 * so `'auto'` times WebGPU only for bigger models, and only on a hardware adapter (a
 * fallback adapter such as SwiftShader is never picked: 15 to 600 times slower above).
 * A model that is slow on wasm, a 256 x 256 convolutional encoder (180 M multiply-adds),
 * takes 13 to 27 ms there and 3 to 4 s on SwiftShader (`browser-device.test.ts`).
 * The floor is SwiftShader's round trip: a hardware GPU's is shorter and was not measured
 * here, so a model whose wasm call lies between that and 5 ms keeps wasm untimed.
 */
export const WEBGPU_FLOOR_MS = 5;

/** A device `'auto'` settled on and why, for `info.device` and `info.deviceReason`. */
export interface DeviceChoice {
  readonly device: 'wasm' | 'webgpu';
  readonly reason: string;
}

const ms = (t: number): string => `${t < 10 ? t.toFixed(2) : t.toFixed(0)} ms`;

/** Keeps wasm without timing WebGPU: its batch-1 call is under {@link WEBGPU_FLOOR_MS}. */
export function underFloor(wasmMs: number, floorMs = WEBGPU_FLOOR_MS): DeviceChoice | undefined {
  if (wasmMs >= floorMs) return undefined;
  return {
    device: 'wasm',
    reason: `a batch-1 encode takes ${ms(wasmMs)} on wasm, under the ${floorMs} ms any WebGPU call costs`,
  };
}

/** The faster of the two timed devices (wasm on a tie), with both times in the reason. */
export function faster(wasmMs: number, webgpuMs: number): DeviceChoice {
  const times = `wasm ${ms(wasmMs)}, webgpu ${ms(webgpuMs)} per batch-1 encode`;
  return webgpuMs < wasmMs
    ? { device: 'webgpu', reason: `webgpu is faster for this model: ${times}` }
    : { device: 'wasm', reason: `wasm is as fast or faster for this model: ${times}` };
}

/**
 * The median time in ms of `runs` batch-1 encodes of zeros, after `warm` untimed ones (the
 * first calls compile kernels and allocate buffers). A warm-up call after the first that
 * takes longer than `enoughMs` ends the timing with its own time: the device is clearly
 * slower than the one it is compared with (WebGPU on a slow adapter can take seconds a call).
 */
export async function timeEncode(
  ae: Autoencoder,
  { runs = 5, warm = 2, enoughMs = Number.POSITIVE_INFINITY } = {},
): Promise<number> {
  const x = new Float32Array(sizeOf(ae.info.inputShape));
  for (let i = 0; i < warm; i++) {
    const t0 = performance.now();
    await ae.encode(x);
    const t = performance.now() - t0;
    if (i > 0 && t > enoughMs) return t;
  }
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await ae.encode(x);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
