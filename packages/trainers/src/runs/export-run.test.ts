/**
 * `exportRun` on a trained run whose encoder has two outputs (a variational encoder's
 * shape): every output checked against tfjs, and the further output recorded.
 */
import '../test-utils/index.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AekitError, createRng, Dataset, parseExportedModel, registerVariant } from '@aekit/core';
import { RunDirectory } from '@aekit/core/node';
import {
  decodeOnnxModel,
  EXPORT_TOLERANCE,
  type ExportReport,
  exportModel,
  type Layer,
  type LowerableLayer,
  runOnnxOutputs,
} from '@aekit/export';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { train } from '../engine/train.js';
import { loadRunModel } from '../model/io.js';
import { DEFAULT_ONNX_GRAPHS, defineTfjsVariant, disposeNetworks } from '../plugin.js';
import { exportRun } from './export-run.js';

const SAMPLE = [4, 4, 1];

/** `count` seeded values, uniform in [0, 1). */
function uniform(count: number, seed: number): Float32Array {
  const next = createRng(seed, 'export-test');
  return Float32Array.from({ length: count }, () => next());
}
const CODINGS = 2;
/** A variant without options: an empty object schema. */
const NO_OPTIONS = z.object({}).strict();

/**
 * Doubles its input in tfjs but tells the exporter it is the identity: the exported graph
 * disagrees with tfjs where it is used (here, on the second output only).
 */
class Doubled extends tfl.layers.Layer implements LowerableLayer {
  static className = 'TestDoubled';
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.mul(Array.isArray(inputs) ? inputs[0]! : inputs, 2);
  }
  exportLayers(): Layer[] {
    return [];
  }
}

/**
 * A small autoencoder whose encoder has a `mean` and a `log_variance` head on one trunk;
 * the decoder decodes the mean. Its encoder graph names the second output. With `lying`,
 * the log-variance head ends in a {@link Doubled} layer.
 */
const twoHeadVariant = (name: string, lying: boolean) =>
  defineTfjsVariant({
    name,
    title: 'two heads',
    description: 'test',
    options: NO_OPTIONS,
    capabilities: [],
    trainer: {
      build: ({ inputShape }) => {
        const input = tfl.input({ shape: [...inputShape] });
        const flat = tfl.layers.flatten().apply(input) as tfl.SymbolicTensor;
        const h = tfl.layers
          .dense({ units: 8, activation: 'elu' })
          .apply(flat) as tfl.SymbolicTensor;
        const mean = tfl.layers.dense({ units: CODINGS, name: 'mean' }).apply(h);
        const head = tfl.layers.dense({ units: CODINGS, name: 'log_variance' }).apply(h);
        const logVar = lying ? new Doubled({}).apply(head) : head;
        const encoder = tfl.model({
          name: 'encoder',
          inputs: input,
          outputs: [mean as tfl.SymbolicTensor, logVar as tfl.SymbolicTensor],
        });
        const decoder = tfl.sequential({
          name: 'decoder',
          layers: [
            tfl.layers.dense({
              units: inputShape.reduce((a, b) => a * b, 1),
              inputShape: [CODINGS],
              activation: 'sigmoid',
            }),
            tfl.layers.reshape({ targetShape: [...inputShape] }),
          ],
        });
        const encode = (x: tf.Tensor) => (encoder.apply(x) as tf.Tensor[])[0]!;
        return {
          networks: { encoder, decoder },
          reconstructionLoss: 'mse',
          loss: (x) => {
            const [m, v] = encoder.apply(x) as tf.Tensor[];
            const reconstruction = decoder.apply(m!) as tf.Tensor;
            return tf.add(
              tf.mean(tf.squaredDifference(x, reconstruction)),
              tf.mul(0.01, tf.mean(tf.square(v!))),
            ) as tf.Scalar;
          },
          reconstruct: (x) => decoder.apply(encode(x)) as tf.Tensor,
          encode,
        };
      },
      onnxGraphs: () =>
        DEFAULT_ONNX_GRAPHS.map((g) =>
          g.role === 'encoder' ? { ...g, extraOutputNames: ['log_variance'] } : g,
        ),
    },
  });
registerVariant(twoHeadVariant('test-two-head', false));
registerVariant(twoHeadVariant('test-two-head-lying', true));

/** Trains `variant` for one epoch on random 4x4x1 samples into `out`. */
async function trainRun(variant: string, out: string): Promise<void> {
  const count = 96;
  await train({
    variant,
    data: new Dataset({ x: uniform(count * 16, 3), sampleShape: SAMPLE, name: 'two' }),
    normalize: 'none',
    epochs: 1,
    batchSize: 32,
    figures: false,
    backend: 'cpu',
    out,
  });
}

describe('exportRun with a two-output encoder', () => {
  let dir = '';
  let report: ExportReport;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aekit-export-two-head-'));
    await trainRun('test-two-head', join(dir, 'run'));
    report = await exportRun(join(dir, 'run'), { backend: 'cpu' });
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('checks every output against tfjs and reports the further output', () => {
    expect(report.maxAbsDiff).toBeLessThanOrEqual(EXPORT_TOLERANCE);
    expect(report.graphs.map((g) => [g.role, g.outputName, g.extraOutputNames ?? null])).toEqual([
      ['encoder', 'codings', ['log_variance']],
      ['decoder', 'reconstruction', null],
      ['autoencoder', 'reconstruction', null],
    ]);
  });

  it('records the further output in aekit.json only where there is one', () => {
    const raw = JSON.parse(readFileSync(join(report.dir, 'aekit.json'), 'utf8')) as {
      graphs: Record<string, object>;
    };
    expect(raw.graphs.decoder).not.toHaveProperty('extraOutputs');
    expect(raw.graphs.autoencoder).not.toHaveProperty('extraOutputs');
    const metadata = parseExportedModel(raw, 'aekit.json');
    expect(metadata.graphs?.encoder).toEqual({
      file: 'encoder.onnx',
      input: 'input',
      output: 'codings',
      extraOutputs: ['log_variance'],
    });
  });

  it('writes an encoder with both outputs and an autoencoder with one', async () => {
    const x = uniform(3 * 16, 5);
    const encoder = readFileSync(join(report.dir, 'encoder.onnx'));
    const outputs = await runOnnxOutputs(encoder, x, [3, ...SAMPLE]);
    expect(outputs.map((o) => [o.name, o.dims])).toEqual([
      ['codings', [3, CODINGS]],
      ['log_variance', [3, CODINGS]],
    ]);
    const autoencoder = decodeOnnxModel(readFileSync(join(report.dir, 'autoencoder.onnx')));
    expect(autoencoder.graph!.output.map((o) => o.name)).toEqual(['reconstruction']);
  });

  /** What exportModel rejects the run's networks with, given these check samples. */
  async function exportModelError(
    samples: NonNullable<Parameters<typeof exportModel>[0]['samples']>,
  ): Promise<AekitError> {
    const run = new RunDirectory(join(dir, 'run'));
    const { model } = loadRunModel(run);
    try {
      const err = await exportModel({
        run: run.root,
        networks: model.networks,
        capabilities: [],
        samples,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AekitError);
      return err as AekitError;
    } finally {
      disposeNetworks(model.networks);
    }
  }

  it('exportModel refuses check samples of the wrong size with InvalidArgument', async () => {
    const err = await exportModelError({ x: new Float32Array(10), count: 2, from: 'test' });
    expect(err.code).toBe('InvalidArgument');
    expect(err.message).toContain('not 2 samples of [4, 4, 1] (32 values)');
  });

  it('checks a run trained on in-memory data on seeded random inputs, and records that', () => {
    expect([report.samples, report.samplesFrom]).toEqual([64, 'random']);
    const metadata = parseExportedModel(
      JSON.parse(readFileSync(join(report.dir, 'aekit.json'), 'utf8')),
      'aekit.json',
    );
    expect(metadata.check).toEqual({ samples: 64, from: 'random', maxAbsDiff: report.maxAbsDiff });
  });

  it('exportModel refuses an empty sample set with EmptyDataset, not a tfjs failure', async () => {
    const err = await exportModelError({ x: new Float32Array(0), count: 0, from: 'training' });
    expect(err.code).toBe('EmptyDataset');
    expect(err.message).toContain('given 0 training samples');
  });

  it('fails with ExportMismatch naming the output that disagrees, and writes nothing', async () => {
    const run = join(dir, 'lying');
    await trainRun('test-two-head-lying', run);
    const err = await exportRun(run, { backend: 'cpu' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AekitError);
    expect((err as AekitError).code).toBe('ExportMismatch');
    expect((err as AekitError).message).toContain('encoder.onnx (output "log_variance")');
    expect(existsSync(join(run, 'onnx'))).toBe(false);
  });
});
