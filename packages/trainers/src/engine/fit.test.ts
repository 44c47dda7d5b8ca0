import { Dataset, getVariant, parseVariantOptions } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backends/index.js';
import { asTfjsPlugin, disposeNetworks } from '../plugin.js';
import { registerBuiltinVariants } from '../register-all.js';
import { type FitEpoch, type FitModel, type FitRestore, fit, saveOptimizers } from './fit.js';
import { createOptimizer } from './optimizers.js';

beforeAll(async () => {
  registerBuiltinVariants();
  await selectBackend('wasm');
});

/** 96 samples of 8 smooth values in [0, 1], with labels 0/1 (whether the first is above 0.5). */
function samples(): Dataset {
  const x = Float32Array.from({ length: 96 * 8 }, (_, i) => 0.5 + 0.45 * Math.sin(i * 0.37));
  const labels = Int32Array.from({ length: 96 }, (_, i) => (x[i * 8]! > 0.5 ? 1 : 0));
  return new Dataset({ x, sampleShape: [8], labels });
}

/** A small stacked autoencoder, built as any variant is. */
function stacked(seed = 5) {
  const plugin = asTfjsPlugin(getVariant('stacked'));
  const config = parseVariantOptions(plugin, { layers: [6, 3] });
  return plugin.trainer.build({ config, inputShape: [8], seed });
}

const weightsOf = (model: ReturnType<typeof stacked>) =>
  Object.values(model.networks).flatMap((n) => n.getWeights().map((w) => w.dataSync()));

function maxDiff(a: readonly Float32Array[] | Uint8Array[], b: typeof a): number {
  let worst = 0;
  a.forEach((w, i) => {
    for (let j = 0; j < w.length; j++) worst = Math.max(worst, Math.abs(w[j]! - b[i]![j]!));
  });
  return worst;
}

const common = { epochs: 4, batchSize: 16, seed: 3 } as const;

describe('fit', () => {
  it('going on from a saved state ends where an uninterrupted training does', async () => {
    const { train, validation } = samples().split(0.25, 1);
    const straight = stacked();
    const whole = await fit(straight, { ...common, data: train, validation });
    expect(whole.status).toBe('completed');
    expect(whole.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);

    // Stop after epoch 2, keeping what a checkpoint keeps: weights, optimiser, state.
    const first = stacked();
    const controller = new AbortController();
    let saved: FitRestore | undefined;
    let weights: tf.Tensor[] = [];
    const stopped = await fit(first, {
      ...common,
      data: train,
      validation,
      signal: controller.signal,
      callbacks: {
        onEpochEnd: async (e: FitEpoch) => {
          if (e.epoch !== 2) return;
          saved = { ...e.state, optimizers: await saveOptimizers(e.optimizers) };
          weights = Object.values(first.networks).flatMap((n) => n.getWeights().map(tf.clone));
          controller.abort();
        },
      },
    });
    expect(stopped.status).toBe('aborted');
    expect(stopped.state.epoch).toBe(2);

    // A model built from another seed, given the saved weights, goes on from epoch 3.
    const resumed = stacked(99);
    let k = 0;
    for (const net of Object.values(resumed.networks)) {
      net.setWeights(weights.slice(k, k + net.weights.length));
      k += net.weights.length;
    }
    tf.dispose(weights);
    const rest = await fit(resumed, { ...common, data: train, validation, from: saved! });
    expect(rest.history.map((h) => h.epoch)).toEqual([3, 4]);
    // Same shuffles, same optimiser state, a deterministic backend: equal up to float32
    // rounding (measured 0; 1e-6 leaves room for a backend that fuses differently).
    expect(maxDiff(weightsOf(resumed), weightsOf(straight))).toBeLessThan(1e-6);
    expect(rest.history[1]!.loss).toBeCloseTo(whole.history[3]!.loss, 6);
    expect(rest.state.bestValLoss).toBeCloseTo(whole.state.bestValLoss!, 6);
    for (const m of [straight, first, resumed]) disposeNetworks(m.networks);
  });

  it('runs phases one after the other, each on its own variables with a fresh optimiser', async () => {
    const a = tf.variable(tf.scalar(0));
    const b = tf.variable(tf.scalar(0));
    const seen: string[] = [];
    let optimizers = 0;
    const model: FitModel = {
      variables: () => [a, b],
      loss: (x) => tf.mean(tf.square(tf.sub(x, tf.add(a, b)))) as tf.Scalar,
      phases: [
        {
          name: 'a',
          epochs: 2,
          variables: () => [a],
          loss: (x) => tf.mean(tf.square(tf.sub(x, a))) as tf.Scalar,
        },
        {
          name: 'b',
          variables: () => [b],
          inputs: async (data) => new Dataset({ x: data.x.map((v) => v * 2), sampleShape: [8] }),
          loss: (x) => tf.mean(tf.square(tf.sub(x, b))) as tf.Scalar,
        },
      ],
    };
    const r = await fit(model, {
      ...common,
      epochs: 3,
      data: samples(),
      optimizer: () => {
        optimizers++;
        return createOptimizer('sgd', 0.1);
      },
      callbacks: {
        onPhaseStart: ({ phase, phases, name }) => {
          seen.push(`${phase}/${phases} ${name} a=${a.dataSync()[0]} b=${b.dataSync()[0]}`);
        },
      },
    });
    // 2 epochs of phase a, then the run's 3 of phase b.
    expect(r.history.map((h) => [h.epoch, h.phase])).toEqual([
      [1, 1],
      [2, 1],
      [3, 2],
      [4, 2],
      [5, 2],
    ]);
    expect(optimizers).toBe(2);
    // Phase b starts with a trained and b untouched; it leaves a as it was.
    expect(seen[0]).toBe('1/2 a a=0 b=0');
    expect(seen[1]).toMatch(/^2\/2 b a=0\.\d+ b=0$/);
    const aAfterPhaseA = Number(seen[1]!.match(/a=([\d.]+)/)![1]);
    expect(a.dataSync()[0]).toBe(aAfterPhaseA);
    // Phase b fits the doubled samples (mean about 1): b moves towards it, past a's 0.5.
    expect(b.dataSync()[0]!).toBeGreaterThan(0.5);
    tf.dispose([a, b]);
  });

  it('makes several steps per batch, each with its own optimiser, and logs each loss', async () => {
    const a = tf.variable(tf.scalar(0));
    const b = tf.variable(tf.scalar(1));
    const groups: string[][] = [];
    const r = await fit(
      {
        variables: () => [a, b],
        loss: (x) => tf.mean(tf.square(tf.sub(x, a))) as tf.Scalar,
        steps: [
          { name: 'first', variables: () => [a], loss: (x) => tf.mean(tf.square(tf.sub(x, a))) },
          { name: 'second', variables: () => [b], loss: (x) => tf.mean(tf.square(tf.sub(x, b))) },
        ] as FitModel['steps'],
      },
      {
        ...common,
        epochs: 2,
        data: samples(),
        callbacks: { onEpochEnd: (e) => void groups.push(Object.keys(e.optimizers)) },
      },
    );
    expect(groups[0]).toEqual(['optimizer', 'optimizer:second']);
    const last = r.history[1]!;
    expect(Object.keys(last.terms).sort()).toEqual(['first', 'second']);
    // The epoch's loss is the first step's.
    expect(last.loss).toBeCloseTo(last.terms.first!, 6);
    // Both moved: a up from 0 and b down from 1, towards the samples' mean (about 0.5).
    expect(a.dataSync()[0]!).toBeGreaterThan(0);
    expect(b.dataSync()[0]!).toBeLessThan(1);
    tf.dispose([a, b]);
  });

  it('stops early when the validation loss stops improving by min delta', async () => {
    const { train, validation } = samples().split(0.25, 1);
    const model = stacked();
    // No fall of the loss is worth 1e9: epoch 1 sets the best, 2 and 3 do not improve.
    const r = await fit(model, {
      ...common,
      epochs: 10,
      data: train,
      validation,
      patience: 2,
      minDelta: 1e9,
    });
    expect(r.status).toBe('stopped-early');
    expect(r.history.map((h) => h.improved)).toEqual([true, false, false]);
    expect(r.state).toMatchObject({ epoch: 3, epochsWithoutImprovement: 2 });
    expect(r.state.bestValLoss).toBe(r.history[0]!.valLoss);
    await expect(fit(model, { ...common, data: train, patience: 1 })).rejects.toMatchObject({
      code: 'InvalidTrainingOptions',
    });
    disposeNetworks(model.networks);
  });

  it("reports the epoch's running mean loss with each batch: after the last, the epoch's loss", async () => {
    const model = stacked();
    const last: { batch: number; meanLoss: number | undefined }[] = [];
    const r = await fit(model, {
      ...common,
      epochs: 2,
      data: samples(),
      callbacks: {
        onBatchEnd: ({ epoch, batch, batches, meanLoss }) => {
          if (batch === batches) last[epoch - 1] = { batch, meanLoss };
        },
      },
    });
    // The same sums, read at the end of the epoch: equal to float32 rounding.
    for (const [i, h] of r.history.entries()) expect(last[i]!.meanLoss).toBeCloseTo(h.loss, 6);
    disposeNetworks(model.networks);
  });

  it('stops on abort after the current batch and frees what it made', async () => {
    const model = stacked();
    await fit(model, { ...common, epochs: 1, data: samples() });
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const batches: string[] = [];
    const r = await fit(model, {
      ...common,
      data: samples(),
      signal: controller.signal,
      callbacks: {
        onBatchEnd: ({ epoch, batch }) => {
          batches.push(`${epoch}.${batch}`);
          if (epoch === 2 && batch === 2) controller.abort();
        },
      },
    });
    expect(r).toMatchObject({ status: 'aborted', state: { epoch: 1 } });
    expect(batches.slice(-3)).toEqual(['1.6', '2.1', '2.2']);
    // Optimiser slots and epoch sums are gone: only the model's weights remain.
    expect(tf.memory().numTensors).toBe(before);
    disposeNetworks(model.networks);
  });

  it('trains a supervised model on its labels', async () => {
    const w = tf.variable(tf.zeros([8, 2]));
    const model: FitModel = {
      supervised: true,
      variables: () => [w],
      loss: (x, _training, labels) => {
        const logits = tf.matMul(x as tf.Tensor2D, w);
        const total = tf.losses.softmaxCrossEntropy(tf.oneHot(labels!, 2), logits) as tf.Scalar;
        const right = tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), labels!), 'float32'));
        return { total, terms: { accuracy: right as tf.Scalar } };
      },
    };
    const r = await fit(model, {
      ...common,
      epochs: 20,
      data: samples(),
      optimizer: () => createOptimizer('adam', 0.05),
    });
    // The label is a threshold of the first value: nearly linear, learnt to over 90% (0.979
    // measured) from 50% at zero weights.
    expect(r.history.at(-1)!.terms.accuracy).toBeGreaterThan(0.9);
    expect(r.history.at(-1)!.loss).toBeLessThan(r.history[0]!.loss);
    const unlabelled = new Dataset({ x: samples().x, sampleShape: [8] });
    await expect(fit(model, { ...common, data: unlabelled })).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    w.dispose();
  });
});
