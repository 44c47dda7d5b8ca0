import { Dataset, type Normalization, parseVariantOptions } from '@aekit/core';
import { graphFile } from '@aekit/core/model';
import { type Autoencoder, loadAutoencoder } from '@aekit/runtime-web';
import { type AutoencoderModel, describeLoss, disposeNetworks, fit } from '@aekit/trainers/browser';
import * as tf from '@tensorflow/tfjs-core';
import { formatNumber } from '../charts.js';
import { imageBlock, loadTestImages, type TestImages } from '../data.js';
import { pickBackend } from '../train/backend.js';
import { exportInPage, type PageExport } from '../train/export-in-page.js';
import type { EpochLosses } from '../train/loss-chart.js';
import {
  constantModelError,
  maxAbsDifference,
  meanImage,
  meanSquaredError,
} from '../train/measure.js';
import {
  type ExportShown,
  exportPanel,
  type ProgressPanel,
  progressPanel,
  SAMPLES,
  SHOWN,
} from '../train/result-panels.js';
import { setupPanel, type TrainChoice } from '../train/setup-panel.js';
import { intro, type View, type ViewContext } from '../ui.js';

/** One MNIST digit, as the page's models take it. */
const INPUT_SHAPE = [28, 28, 1] as const;
/** The page's images are bytes scaled to [0, 1], recorded in aekit.json as the CLI does. */
const UNIT: Normalization = { kind: 'unit', scale: 1 / 255, offset: 0 };
/** Seed of the networks, the validation split, the batch order and the samples drawn. */
const SEED = 1;
/** Fraction of the training samples held out for the validation loss. */
const VALIDATION_SPLIT = 0.1;
/** Samples per batch, as the CLI trains by default. */
const BATCH_SIZE = 32;

/** The files of an export as the runtime loads them from memory. */
function modelBytes(out: PageExport) {
  const file = (role: string) => out.files.get(graphFile(out.metadata, role));
  const autoencoder = file('autoencoder');
  return {
    encoder: file('encoder')!,
    decoder: file('decoder')!,
    ...(autoencoder ? { autoencoder } : {}),
    metadata: out.metadata,
  };
}

/** `model`'s inference-time reconstructions of `count` images held back to back in `x`. */
async function reconstructWith(model: AutoencoderModel, x: Float32Array): Promise<Float32Array> {
  const out = tf.tidy(() => model.reconstruct(tf.tensor4d(x, [x.length / 784, ...INPUT_SHAPE])));
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

/** What a training in the page reports to, and on what. */
interface TrainRun {
  readonly choice: TrainChoice;
  readonly backend: string;
  readonly train: Dataset;
  readonly validation: Dataset;
  /** The test digits reconstructed after each epoch. */
  readonly shown: Float32Array;
  readonly signal: AbortSignal;
  readonly progress: ProgressPanel;
  readonly state: HTMLOutputElement;
  readonly ctx: ViewContext;
}

/**
 * Trains `model` with the library's `fit`, drawing the losses and reconstructions after
 * each epoch and the batches done during one; returns the epochs trained (fewer when
 * stopped).
 */
async function trainInPage(model: AutoencoderModel, run: TrainRun): Promise<EpochLosses[]> {
  const { choice, state, ctx } = run;
  const history: EpochLosses[] = [];
  const t0 = performance.now();
  const seconds = () => ((performance.now() - t0) / 1000).toFixed(1);
  // Phases (greedy layer-wise training) each train the epochs asked for.
  let epochs = choice.epochs;
  let phase = '';
  let last = '';
  await fit(model, {
    data: run.train,
    validation: run.validation,
    epochs: choice.epochs,
    batchSize: BATCH_SIZE,
    seed: SEED,
    signal: run.signal,
    callbacks: {
      onPhaseStart: (p) => {
        phase = p.phases > 1 ? ` (phase ${p.phase}/${p.phases}: ${p.name})` : '';
      },
      onBatchEnd: (b) => {
        if (!ctx.alive()) return;
        state.textContent = `${choice.plugin.name}${phase}, epoch ${b.epoch}/${epochs}: batch ${b.batch}/${b.batches} on ${run.backend}, ${seconds()} s.${last}`;
      },
      onEpochEnd: async (e) => {
        epochs = e.epochs;
        history.push({ loss: e.loss, valLoss: e.valLoss });
        if (!ctx.alive()) return;
        const rebuilt = await reconstructWith(model, run.shown);
        run.progress.epoch(history, epochs, run.shown, rebuilt);
        last = ` Last epoch: loss ${formatNumber(e.loss)}${e.valLoss === undefined ? '' : `, val loss ${formatNumber(e.valLoss)}`}.`;
        state.textContent = `${choice.plugin.name}${phase}, epoch ${e.epoch}/${epochs} on ${run.backend}, ${seconds()} s.${last}`;
      },
    },
  });
  return history;
}

/**
 * Runs the exported model with the runtime on the test digits `x`, next to the
 * reconstructions of TensorFlow.js's model it came from and the mean training image, and
 * samples from it when it can.
 */
async function scoreExport(
  ae: Autoencoder,
  variant: string,
  out: PageExport,
  test: { readonly x: Float32Array; readonly viaTfjs: Float32Array; readonly mean: Float32Array },
): Promise<ExportShown> {
  const { x, viaTfjs, mean } = test;
  const digits = x.length / 784;
  const viaOnnx = await ae.reconstruct({ data: x, shape: [digits, ...INPUT_SHAPE] });
  const samples = ae.info.capabilities.includes('sample')
    ? (await ae.sample(SAMPLES, { seed: SEED })).data
    : undefined;
  return {
    variant,
    out,
    device: ae.info.device,
    reconstructions: viaOnnx.data,
    ...(samples ? { samples } : {}),
    digits,
    mse: {
      onnx: meanSquaredError(viaOnnx.data, x),
      tfjs: meanSquaredError(viaTfjs, x),
      meanImage: constantModelError(x, mean),
    },
    maxDiff: maxAbsDifference(viaOnnx.data, viaTfjs),
  };
}

/**
 * Train in the browser: any registered variant with a TensorFlow.js trainer, its options
 * from its schema, trained by the library's `fit` on MNIST training images with a live loss
 * chart and reconstructions; then exported to ONNX in the page (with core's aekit.json),
 * loaded by the runtime, scored on the test digits next to TensorFlow.js, and offered for
 * download.
 */
export const trainView: View = (root, ctx) => {
  intro(
    root,
    'Train here',
    'Train an autoencoder in this page: TensorFlow.js fits the variant you pick to MNIST training digits, drawing the loss and the reconstructions after each epoch. The page then exports it to ONNX, runs it with the same runtime as the other views and offers the files. Keep the small default budget and press Train.',
  );
  const setup = setupPanel(root, ctx, { batchSize: BATCH_SIZE, validationSplit: VALIDATION_SPLIT });
  const progress = progressPanel(root);
  const exported = exportPanel(root);
  const { state } = setup;
  let images: Promise<TestImages> | undefined;
  let controller: AbortController | undefined;

  /** Trains, exports, scores and shows the model of `choice` (stopped by `signal`). */
  const trainAndExport = async (choice: TrainChoice, signal: AbortSignal): Promise<void> => {
    const { plugin } = choice;
    const config = parseVariantOptions(plugin, choice.options);
    state.textContent = 'Starting TensorFlow.js…';
    const backend = await pickBackend(choice.backend);
    images ??= loadTestImages(ctx.index.trainImages, 'train');
    const all = new Dataset({
      x: imageBlock(await images, choice.samples),
      sampleShape: INPUT_SHAPE,
      normalization: UNIT,
      name: 'mnist/train',
    });
    const { train, validation } = all.split(VALIDATION_SPLIT, SEED);
    const model = plugin.trainer.build({ config, inputShape: INPUT_SHAPE, seed: SEED });
    const loss = describeLoss(model, INPUT_SHAPE);
    progress.reset(`${loss.name} (${loss.unit})`);
    try {
      const shown = imageBlock(ctx.data, SHOWN);
      const run = { choice, backend, train, validation, shown, signal, progress, state, ctx };
      const history = await trainInPage(model, run);
      if (!ctx.alive()) return;
      if (history.length === 0) {
        state.textContent = 'Stopped before the first epoch ended: nothing to export.';
        return;
      }
      const trained = state.textContent;
      state.textContent = `${trained} Exporting…`;
      // The exporter reads the weights synchronously, which a WebGPU backend does slowly, or
      // not at all (headless Chromium's software adapter loses its device): read them
      // asynchronously first, which keeps them on the CPU side.
      await Promise.all(
        Object.values(model.networks).flatMap((n) => n.weights.map((w) => w.read().data())),
      );
      const out = exportInPage({
        plugin,
        config,
        model,
        inputShape: INPUT_SHAPE,
        normalization: UNIT,
      });
      // TensorFlow.js's reconstructions of the test digits, which the runtime's should match.
      const x = imageBlock(ctx.data);
      const test = { x, viaTfjs: await reconstructWith(model, x), mean: meanImage(train.x, 784) };
      const ae = await loadAutoencoder(modelBytes(out), { device: ctx.store.device });
      let shownExport: ExportShown;
      try {
        shownExport = await scoreExport(ae, plugin.name, out, test);
      } finally {
        await ae.dispose();
      }
      if (!ctx.alive()) return;
      exported.show(shownExport);
      state.textContent = `${trained} Exported${signal.aborted ? ` after stopping at epoch ${history.length}` : ''}.`;
      await ctx.store.addOwn('trained-here', modelBytes(out));
    } finally {
      disposeNetworks(model.networks);
    }
  };

  setup.start.addEventListener('click', async () => {
    const choice = setup.choice();
    if (typeof choice === 'string') {
      state.textContent = choice;
      return;
    }
    const mine = new AbortController();
    controller = mine;
    setup.busy(true);
    progress.reset();
    exported.reset(choice.plugin.name, choice.plugin.capabilities.includes('sample'));
    try {
      await trainAndExport(choice, mine.signal);
    } catch (err) {
      console.error(err);
      state.textContent = `Training failed: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      if (controller === mine) controller = undefined;
      setup.busy(false);
    }
  });
  setup.stop.addEventListener('click', () => controller?.abort());
  return () => {
    controller?.abort();
    exported.dispose();
  };
};
