import { describe, expect, it } from 'vitest';
import {
  attr,
  decodeOnnxModel,
  MAX_OPSET,
  MIN_OPSET,
  ONNX_IR_VERSION,
  OnnxModelBuilder,
} from './onnx-model.js';
import { runOnnx } from './run-onnx.js';

function affine(withOutput = true): OnnxModelBuilder {
  const b = new OnnxModelBuilder('affine')
    .addInput('x', ['N', 3])
    .addFloatInitializer('w', [3, 2], Float32Array.of(1, 2, 3, 4, 5, 6))
    .addFloatInitializer('b', [2], Float32Array.of(0.5, -0.5))
    .addNode({
      op: 'Gemm',
      inputs: ['x', 'w', 'b'],
      outputs: ['y'],
      attributes: { alpha: attr.float(2) },
    });
  return withOutput ? b.addOutput('y', ['N', 2]) : b;
}

describe('OnnxModelBuilder', () => {
  it('encodes a model that ONNX Runtime runs, with a dynamic batch', async () => {
    const bytes = affine().encode();
    expect(bytes).toBeInstanceOf(Uint8Array);
    const out = await runOnnx(bytes, Float32Array.of(1, 0, 0, 0, 1, -1), [2, 3]);
    expect(out.dims).toEqual([2, 2]);
    // y = 2 x W + b
    expect(Array.from(out.data)).toEqual([2.5, 3.5, -3.5, -4.5]);
  });

  it('writes IR 8, the opset, producer, doc string and metadata', () => {
    const model = decodeOnnxModel(
      affine().encode({ opset: 17, docString: 'doc', metadata: { a: '1', b: 'two' } }),
    );
    expect(Number(model.irVersion)).toBe(ONNX_IR_VERSION);
    expect(ONNX_IR_VERSION).toBe(8);
    expect(model.producerName).toBe('aekit');
    expect(model.docString).toBe('doc');
    expect(model.opsetImport.map((o) => Number(o.version))).toEqual([17]);
    expect(model.metadataProps.map((p) => `${p.key}=${p.value}`)).toEqual(['a=1', 'b=two']);
    expect(Number(decodeOnnxModel(affine().encode()).opsetImport[0]!.version)).toBe(13);
  });

  it('writes every attribute type, strings as UTF-8 bytes', () => {
    const b = new OnnxModelBuilder('g').addInput('x', ['N', 1, 4, 4]);
    b.addNode({
      op: 'Identity',
      inputs: ['x'],
      outputs: ['y'],
      attributes: {
        f: attr.float(0.25),
        i: attr.int(-3),
        fs: attr.floats([1.5, 2]),
        is: attr.ints([0, 1, 2 ** 40]),
        s: attr.string('asymétrique'),
      },
    });
    const node = decodeOnnxModel(b.addOutput('y', ['N']).encode()).graph!.node[0]!;
    const byName = Object.fromEntries(node.attribute.map((a) => [a.name, a]));
    expect(byName.f!.f).toBe(0.25);
    expect(Number(byName.i!.i)).toBe(-3);
    expect(byName.fs!.floats).toEqual([1.5, 2]);
    expect(byName.is!.ints.map(Number)).toEqual([0, 1, 2 ** 40]);
    expect(new TextDecoder().decode(byName.s!.s)).toBe('asymétrique');
  });

  it('stores float32 initializers as little-endian raw data and int64 ones as values', () => {
    const b = new OnnxModelBuilder('g')
      .addFloatInitializer('f', [2], Float32Array.of(1, -2.5))
      .addInt64Initializer('i', [3], [0, -1, 7]);
    const [f, i] = b.toProto().graph!.initializer;
    expect(Array.from(new Float32Array(new Uint8Array(f!.rawData).buffer))).toEqual([1, -2.5]);
    expect(i!.int64Data.map(Number)).toEqual([0, -1, 7]);
  });

  it('refuses duplicate names, undefined inputs, missing outputs, bad shapes and opsets', () => {
    expect(() => affine().addInput('w', [1])).toThrow(/defined twice/);
    expect(() =>
      new OnnxModelBuilder('g').addNode({ op: 'Relu', inputs: ['nope'], outputs: ['y'] }),
    ).toThrow(/not defined yet/);
    expect(() => new OnnxModelBuilder('g').addOutput('y', [1]).encode()).toThrow(/no node/);
    expect(() =>
      new OnnxModelBuilder('g').addFloatInitializer('w', [2, 2], new Float32Array(3)),
    ).toThrow(/needs 4 values/);
    expect(() => affine().encode({ opset: MIN_OPSET - 1 })).toThrow(RangeError);
    expect(() => affine().encode({ opset: MAX_OPSET + 1 })).toThrow(RangeError);
  });

  it('renames a node output that nothing reads', () => {
    const b = affine(false);
    expect(b.renameNodeOutput('y', 'z')).toBe(true);
    expect(b.renameNodeOutput('x', 'q')).toBe(false);
    const graph = b.toProto().graph!;
    expect(graph.node[0]!.output).toEqual(['z']);
  });
});
