/**
 * `quantizeGraph`: float16 and int8 weights of exported graphs, run in onnxruntime-node and
 * in onnxruntime-web's WebAssembly build against the float32 graph, and read by the
 * reference ONNX checker.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, PYTHON, PYTHON_ONNX } from '../../core/src/test-utils/requirements.js';
import { layersToOnnx } from './layers-to-onnx.js';
import { decodeOnnxModel } from './onnx-model.js';
import { fromFloat16Bits, quantizeGraph, toFloat16Bits } from './quantize.js';
import { runOnnxOutputs } from './run-onnx.js';
import { maxAbsDiff, seedWeights, uniform, useCpuBackend } from './test-utils/index.js';

const { DataType } = onnxProto.onnx.TensorProto;

/** The default stacked encoder's shape, 784-100-30 SELU (its weights are 99.7% of the file). */
function denseEncoder(): tfl.LayersModel {
  return seedWeights(
    tfl.sequential({
      layers: [
        tfl.layers.flatten({ inputShape: [28, 28, 1] }),
        tfl.layers.dense({ units: 100, activation: 'selu' }),
        tfl.layers.dense({ units: 30 }),
      ],
    }),
    11,
  );
}

/** A convolution and a transposed convolution, for their weight layouts. */
function convolutional(): tfl.LayersModel {
  return seedWeights(
    tfl.sequential({
      layers: [
        tfl.layers.conv2d({
          inputShape: [8, 8, 3],
          filters: 16,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
        }),
        tfl.layers.conv2dTranspose({ filters: 8, kernelSize: 3, strides: 2, padding: 'same' }),
      ],
    }),
    12,
  );
}

const graphOf = (net: tfl.LayersModel): Uint8Array =>
  layersToOnnx({ name: 'net', networks: [net], inputName: 'input', outputName: 'output' });

describe('float16 bits', () => {
  it('round to nearest even, keep subnormals and overflow to infinity', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [65504, 0x7bff],
      [65520, Number.NaN], // halfway to 2^16: rounds up, to infinity
      [2 ** -24, 0x0001], // the smallest subnormal
      [2 ** -25, 0x0000], // halfway to it: to even, 0
      [3 * 2 ** -25, 0x0002], // 1.5 subnormal steps: to even, 2
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and its successor: to even
      [1 + 3 * 2 ** -11, 0x3c02],
    ];
    for (const [value, bits] of cases) {
      if (Number.isNaN(bits)) expect(toFloat16Bits(value)).toBe(0x7c00);
      else expect(toFloat16Bits(value), String(value)).toBe(bits);
    }
    expect(fromFloat16Bits(0x2e66)).toBeCloseTo(0.1, 4);
    expect(fromFloat16Bits(0x7bff)).toBe(65504);
    expect(fromFloat16Bits(0x0001)).toBe(2 ** -24);
    expect(fromFloat16Bits(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
  });

  it('round-trips every value within half a unit in the last place', () => {
    const values = uniform(2000, 3, -4, 4);
    for (const v of values) {
      const back = fromFloat16Bits(toFloat16Bits(v));
      // float16 keeps 11 significant bits: the error is at most 2^-11 of the value.
      expect(Math.abs(back - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25);
    }
  });
});

describe('quantizeGraph', () => {
  let dense: Uint8Array;
  let conv: Uint8Array;
  let dir = '';
  beforeAll(async () => {
    await useCpuBackend();
    dense = graphOf(denseEncoder());
    conv = graphOf(convolutional());
    dir = mkdtempSync(join(tmpdir(), 'aekit-quantize-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('leaves fp32 graphs as they are', () => {
    expect(quantizeGraph(dense, 'fp32').bytes).toBe(dense);
  });

  it('shrinks the files about 2x (fp16) and 4x (int8): the weights are nearly all of them', () => {
    const fp16 = quantizeGraph(dense, 'fp16');
    const int8 = quantizeGraph(dense, 'int8');
    // 784x100 + 100x30 weights = 81,400 floats = 325,600 bytes of a 326 KB file.
    expect(fp16.weightBytes).toEqual({ before: 325_600, after: 162_800 });
    // int8: one byte a weight, and a float32 scale per output channel (100 + 30).
    expect(int8.weightBytes).toEqual({ before: 325_600, after: 81_400 + 130 * 4 });
    expect(fp16.bytes.length / dense.length).toBeLessThan(0.51);
    expect(int8.bytes.length / dense.length).toBeLessThan(0.26);
    // Biases (100 and 30 values) stay float32.
    expect(int8.tensors).toHaveLength(2);
  });

  it('stores weights as FLOAT16 + Cast, and int8 + Cast + Mul by per-output-channel scales', () => {
    const fp16 = decodeOnnxModel(quantizeGraph(dense, 'fp16').bytes);
    const types = fp16.graph!.initializer.map((t) => t.dataType);
    expect(types.filter((t) => t === DataType.FLOAT16)).toHaveLength(2);
    expect(fp16.graph!.node.slice(0, 2).map((n) => n.opType)).toEqual(['Cast', 'Cast']);
    expect(fp16.metadataProps.find((p) => p.key === 'aekit.precision')?.value).toBe('fp16');

    const int8 = decodeOnnxModel(quantizeGraph(conv, 'int8').bytes);
    const init = (suffix: string) =>
      int8.graph!.initializer.filter((t) => t.name.endsWith(suffix)).map((t) => t.dims.map(Number));
    // Conv weights [out, in, kh, kw]: a scale per out (axis 0), shaped [16, 1, 1, 1].
    // ConvTranspose weights [in, out, kh, kw]: a scale per out (axis 1), shaped [8, 1, 1].
    expect(init('/int8')).toEqual([
      [16, 3, 3, 3],
      [16, 8, 3, 3],
    ]);
    expect(init('/scale')).toEqual([
      [16, 1, 1, 1],
      [8, 1, 1],
    ]);
    expect(int8.graph!.node.slice(0, 4).map((n) => n.opType)).toEqual([
      'Cast',
      'Mul',
      'Cast',
      'Mul',
    ]);
    // The graph's inputs and outputs stay float32.
    for (const v of [...int8.graph!.input, ...int8.graph!.output]) {
      expect(v.type!.tensorType!.elemType).toBe(DataType.FLOAT);
    }
  });

  it('runs in onnxruntime-node and onnxruntime-web alike, close to the float32 graph', async () => {
    const cases = [
      { name: 'dense', bytes: dense, x: uniform(4 * 784, 5, 0, 1), dims: [4, 28, 28, 1] },
      { name: 'conv', bytes: conv, x: uniform(2 * 192, 6, -1, 1), dims: [2, 8, 8, 3] },
    ];
    for (const c of cases) {
      const [reference] = await runOnnxOutputs(c.bytes, c.x, c.dims, {
        runtime: 'onnxruntime-node',
      });
      let scale = 0;
      for (const v of reference!.data) scale = Math.max(scale, Math.abs(v));
      for (const precision of ['fp16', 'int8'] as const) {
        const bytes = quantizeGraph(c.bytes, precision).bytes;
        const [node] = await runOnnxOutputs(bytes, c.x, c.dims, { runtime: 'onnxruntime-node' });
        const [web] = await runOnnxOutputs(bytes, c.x, c.dims, { runtime: 'onnxruntime-web' });
        expect(node!.dims).toEqual(reference!.dims);
        // Both builds fold the same weights back to float32: they differ by float32 rounding
        // only, as the float32 graphs do (measured 3e-7 of the output's scale; allowed 1e-5).
        expect(maxAbsDiff(node!.data, web!.data), `${c.name} ${precision}`).toBeLessThan(
          1e-5 * scale,
        );
        // Against float32: a float16 weight is off by at most 2^-11 (0.05%) of itself, an
        // int8 one by half a step, 1/254 (0.4%) of its channel's largest; through two layers
        // of a few hundred terms the errors partly cancel. Measured, of the output's scale:
        // fp16 2.4e-4 (dense) and 2.1e-4 (conv), int8 4.4e-3 and 4.3e-3; the bounds leave a
        // factor of 4 to 7.
        const diff = maxAbsDiff(reference!.data, node!.data) / scale;
        expect(diff, `${c.name} ${precision}`).toBeLessThan(precision === 'fp16' ? 1e-3 : 3e-2);
        expect(diff).toBeGreaterThan(0);
      }
    }
  });

  it('is folded back to the float32 graph when ONNX Runtime opens it, so it runs as fast', async () => {
    const ort = await import('onnxruntime-node');
    /** The operators of `bytes` as onnxruntime-node optimises it at session creation. */
    const optimised = async (bytes: Uint8Array, name: string): Promise<string[]> => {
      const path = join(dir, `${name}-optimised.onnx`);
      const session = await ort.InferenceSession.create(bytes, {
        executionProviders: ['cpu'],
        optimizedModelFilePath: path,
      });
      await session.release();
      return decodeOnnxModel(readFileSync(path)).graph!.node.map((n) => n.opType);
    };
    for (const [name, bytes] of Object.entries({ dense, conv })) {
      const reference = await optimised(bytes, `${name}-fp32`);
      // The weights' Cast and Mul nodes are gone: the session runs the float32 graph's nodes
      // (Gemm and Conv fused with their activations), on weights folded to float32.
      expect(await optimised(quantizeGraph(bytes, 'fp16').bytes, `${name}-fp16`)).toEqual(
        reference,
      );
      expect(await optimised(quantizeGraph(bytes, 'int8').bytes, `${name}-int8`)).toEqual(
        reference,
      );
    }
  });

  it.skipIf(missing(PYTHON_ONNX))('passes the reference ONNX checker', () => {
    const files = [dense, conv].flatMap((bytes, i) =>
      (['fp16', 'int8'] as const).map((precision) => {
        const file = join(dir, `${i}-${precision}.onnx`);
        writeFileSync(file, quantizeGraph(bytes, precision).bytes);
        return file;
      }),
    );
    const check = `
import sys, onnx
for path in sys.argv[1:]:
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    onnx.shape_inference.infer_shapes(m, strict_mode=True)
    print('ok')
`;
    const run = spawnSync(PYTHON, ['-c', check, ...files], { encoding: 'utf8' });
    expect(run.error, `cannot run ${PYTHON}`).toBeUndefined();
    expect(run.stderr).toBe('');
    expect(run.stdout.trim().split('\n')).toEqual(files.map(() => 'ok'));
  });
});
