import { describe, expect, it, vi } from 'vitest';
import { attr, OnnxModelBuilder } from './onnx-model.js';
import { onnxRuntime, runOnnx, runOnnxOutputs } from './run-onnx.js';
import { uniform } from './test-utils/index.js';

/** A dense layer with a sigmoid, 64 -> 16, seeded: enough arithmetic to see rounding. */
function dense(): Uint8Array {
  return new OnnxModelBuilder('dense')
    .addInput('x', ['N', 64])
    .addFloatInitializer('w', [64, 16], uniform(64 * 16, 1, -0.3, 0.3))
    .addFloatInitializer('b', [16], uniform(16, 2, -0.5, 0.5))
    .addNode({ op: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['z'] })
    .addNode({ op: 'Sigmoid', inputs: ['z'], outputs: ['y'] })
    .addNode({ op: 'Mul', inputs: ['z', 'z'], outputs: ['z2'] })
    .addOutput('y', ['N', 16])
    .addOutput('z2', ['N', 16])
    .encode();
}

describe('the ONNX Runtime of the export check', () => {
  it("'auto' is onnxruntime-node where it is installed (as in this workspace)", async () => {
    expect(await onnxRuntime()).toEqual({
      name: 'onnxruntime-node',
      version: '1.30.0',
      executionProvider: 'cpu',
    });
    expect(await onnxRuntime('onnxruntime-web')).toEqual({
      name: 'onnxruntime-web',
      version: '1.30.0',
      executionProvider: 'wasm',
    });
  });

  it('onnxruntime-web (wasm, in Node) gives what onnxruntime-node gives', async () => {
    const x = uniform(32 * 64, 3);
    const [native, wasm] = await Promise.all(
      (['onnxruntime-node', 'onnxruntime-web'] as const).map((runtime) =>
        runOnnxOutputs(dense(), x, [32, 64], { runtime }),
      ),
    );
    expect(wasm!.map((o) => [o.name, o.dims])).toEqual(native!.map((o) => [o.name, o.dims]));
    // Both are ONNX Runtime's CPU kernels in float32 (MLAS natively, its wasm build in
    // onnxruntime-web): 64-term sums in other orders and another vectorised logistic. The
    // largest differences measured, relative to max(1, |value|), were 6.0e-8 on y (in
    // (0, 1)) and 5.4e-7 on z2 (9.5e-7 absolute at a value near 1.8): an ulp or two. 1e-6
    // allows a few ulps; a wrong kernel or layout would be off by 1e-2 and more.
    for (let i = 0; i < native!.length; i++) {
      let worst = 0;
      for (let j = 0; j < native![i]!.data.length; j++) {
        const a = native![i]!.data[j]!;
        worst = Math.max(worst, Math.abs(a - wasm![i]!.data[j]!) / Math.max(1, Math.abs(a)));
      }
      console.log(`[export] ${native![i]!.name}: max |node - web| / max(1, |node|) = ${worst}`);
      expect(worst).toBeLessThanOrEqual(1e-6);
    }
    // An exact case: small integers in, the same numbers out on both.
    const affine = new OnnxModelBuilder('affine')
      .addInput('x', ['N', 2])
      .addFloatInitializer('w', [2, 1], Float32Array.of(1, 2))
      .addNode({
        op: 'Gemm',
        inputs: ['x', 'w'],
        outputs: ['y'],
        attributes: { alpha: attr.float(2) },
      })
      .addOutput('y', ['N', 1])
      .encode();
    const out = await runOnnx(affine, Float32Array.of(1, 1, 3, -1), [2, 2], {
      runtime: 'onnxruntime-web',
    });
    expect(Array.from(out.data)).toEqual([6, 2]);
  });

  it("'auto' falls back to onnxruntime-web when onnxruntime-node cannot be imported", async () => {
    vi.resetModules();
    vi.doMock('onnxruntime-node', () => {
      throw new Error("Cannot find package 'onnxruntime-node'");
    });
    try {
      const fresh = await import('./run-onnx.js');
      expect((await fresh.onnxRuntime()).name).toBe('onnxruntime-web');
      const out = await fresh.runOnnx(dense(), uniform(64, 4), [1, 64]);
      expect(out.dims).toEqual([1, 16]);
      // Asked for by name, it is not replaced.
      await expect(fresh.onnxRuntime('onnxruntime-node')).rejects.toThrow();
    } finally {
      vi.doUnmock('onnxruntime-node');
      vi.resetModules();
    }
  });
});
