import { describe, expect, it } from 'vitest';
import { faster, underFloor, WEBGPU_FLOOR_MS } from './device-choice.js';

describe("'auto' device rule", () => {
  it('keeps wasm without trying WebGPU when a call is under the floor', () => {
    expect(underFloor(0.2)).toEqual({
      device: 'wasm',
      reason: `a batch-1 encode takes 0.20 ms on wasm, under the ${WEBGPU_FLOOR_MS} ms any WebGPU call costs`,
    });
    expect(underFloor(WEBGPU_FLOOR_MS)).toBeUndefined();
    expect(underFloor(40)).toBeUndefined();
  });

  it('keeps the faster device once both are timed, wasm on a tie', () => {
    expect(faster(40, 6)).toEqual({
      device: 'webgpu',
      reason: 'webgpu is faster for this model: wasm 40 ms, webgpu 6.00 ms per batch-1 encode',
    });
    expect(faster(12, 30).device).toBe('wasm');
    expect(faster(12, 12).device).toBe('wasm');
  });
});
