/**
 * Every built-in variant's freshly built (seeded, untrained) networks convert to ONNX and
 * agree with TensorFlow.js: each graph the variant declares, at batch 1 and 3. (Trained
 * models go through the same check in `aekit export`; see variants.e2e.test.ts.)
 */
import { createRng, getVariant, parseVariantOptions } from '@aekit/core';
import {
  decodeOnnxModel,
  describedGraphSpec,
  EXPORT_TOLERANCE,
  layersToOnnx,
  runOnnxOutputs,
  runTfjsChain,
} from '@aekit/export';
import {
  asTfjsPlugin,
  builtinVariants,
  DEFAULT_ONNX_GRAPHS,
  disposeNetworks,
  selectBackend,
} from '@aekit/trainers';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await selectBackend('cpu');
});

function dims(v: { type?: { tensorType?: { shape?: { dim?: unknown[] } | null } | null } | null }) {
  return (v.type!.tensorType!.shape!.dim as { dimValue?: unknown; dimParam?: string }[]).map((d) =>
    d.dimParam ? d.dimParam : Number(d.dimValue),
  );
}

describe('built-in variants', () => {
  it.each(builtinVariants.map((p) => p.name))(
    '%s: every declared graph matches tfjs on 28x28x1 images',
    async (variant) => {
      const plugin = asTfjsPlugin(getVariant(variant));
      const config = parseVariantOptions(plugin, {});
      const model = plugin.trainer.build({ config, inputShape: [28, 28, 1], seed: 7 });
      const next = createRng(11, variant);
      try {
        for (const graph of plugin.trainer.onnxGraphs?.(config) ?? DEFAULT_ONNX_GRAPHS) {
          const networks = graph.networks.map((n) => model.networks[n]!);
          const bytes = layersToOnnx(describedGraphSpec(graph, networks));
          const sample = networks[0]!.inputs[0]!.shape.slice(1) as number[];
          const size = sample.reduce((a, b) => a * b, 1);
          for (const batch of [1, 3]) {
            const shape = [batch, ...sample];
            const x = Float32Array.from({ length: batch * size }, () => next());
            const expected = runTfjsChain(networks, x, shape);
            const actual = await runOnnxOutputs(bytes, x, shape);
            expect(actual.length, `${graph.role}: output count`).toBe(expected.length);
            for (const [j, out] of actual.entries()) {
              const ref = expected[j]!;
              expect(out.dims, `${graph.role} ${out.name}: shape`).toEqual(ref.dims);
              // The exporter's own rule: 1e-5 (or the graph's allowance) times max(1, |output|).
              let scale = 1;
              for (const v of ref.data) scale = Math.max(scale, Math.abs(v));
              let diff = 0;
              for (let i = 0; i < ref.data.length; i++)
                diff = Math.max(diff, Math.abs(ref.data[i]! - out.data[i]!));
              expect(diff, `${graph.role} ${out.name}: max |ORT - tfjs|`).toBeLessThanOrEqual(
                (graph.parityTolerance ?? EXPORT_TOLERANCE) * scale,
              );
            }
          }
        }
        const onnx = decodeOnnxModel(
          layersToOnnx({
            name: 'autoencoder',
            networks: [model.networks.encoder!, model.networks.decoder!],
            inputName: 'input',
            outputName: 'reconstruction',
          }),
        ).graph!;
        expect(dims(onnx.input[0]!)).toEqual(['N', 28, 28, 1]);
        expect(dims(onnx.output[0]!)).toEqual(['N', 28, 28, 1]);
      } finally {
        disposeNetworks(model.networks);
      }
    },
  );
});
