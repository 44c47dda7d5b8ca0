import type { Dataset, EpochMetrics, RunManifest, SamplerSpec } from '@aekit/core';
import { imageGrid, type RunDirectory } from '@aekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { mapBatches } from '../model/batches.js';
import type { AutoencoderModel } from '../plugin.js';
import { lineChartPng, type SeriesPoint } from './chart.js';

export { lineChartPng } from './chart.js';
export { drawInsideFigures, type InsideOptions } from './draw-inside.js';

/** How many samples the reconstruction figure shows. */
export const FIGURE_SAMPLES = 10;

/** Rows and columns of figures/samples.png. */
export const SAMPLE_GRID = [6, 10] as const;
/** Side of figures/latent-grid.png, and the extent of the latent plane it covers. */
export const LATENT_GRID = { side: 15, extent: 2.5 } as const;

/** Splits `[n * size]` values into `n` samples, then into rows of `cols`. */
function rowsOf(data: Float32Array, size: number, cols: number): Float32Array[][] {
  const n = data.length / size;
  const rows: Float32Array[][] = [];
  for (let r = 0; r * cols < n; r++) {
    rows.push(
      Array.from({ length: Math.min(cols, n - r * cols) }, (_, c) =>
        data.subarray((r * cols + c) * size, (r * cols + c + 1) * size),
      ),
    );
  }
  return rows;
}

/** Decodes codings `[n, ...codingShape]` with the model's decoder, eagerly. */
async function decodeAll(model: AutoencoderModel, codings: tf.Tensor): Promise<Float32Array> {
  const out = tf.tidy(() => model.networks.decoder.predict(codings) as tf.Tensor);
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}

/**
 * Codings of a 15x15 grid over the latent plane [-2.5, 2.5]^2 (the prior's bulk), row by
 * row from the top: x grows to the right, y upwards.
 */
export function latentGridCodings(): Float32Array {
  const { side, extent } = LATENT_GRID;
  const at = (i: number) => -extent + (2 * extent * i) / (side - 1);
  const codings = new Float32Array(side * side * 2);
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      codings[(r * side + c) * 2] = at(c);
      codings[(r * side + c) * 2 + 1] = at(side - 1 - r);
    }
  }
  return codings;
}

/**
 * For variants that sample from a prior (VAE): figures/samples.png, codings drawn from
 * the prior N(0, I) with the run's seed and decoded, and for a 2-D coding
 * figures/latent-grid.png, the decoded grid of {@link latentGridCodings}.
 */
async function drawGenerativeFigures(
  run: RunDirectory,
  manifest: RunManifest,
  model: AutoencoderModel,
): Promise<string[]> {
  const written: string[] = [];
  const size = manifest.inputShape.reduce((a, b) => a * b, 1);
  const [rows, cols] = SAMPLE_GRID;
  const prior = tf.randomNormal(
    [rows * cols, ...manifest.codingShape],
    0,
    1,
    'float32',
    manifest.training.seed,
  );
  const samples = await decodeAll(model, prior);
  prior.dispose();
  run.writeFile(
    'figures/samples.png',
    imageGrid(rowsOf(samples, size, cols), { sampleShape: manifest.inputShape, range: [0, 1] }),
  );
  written.push(run.path('figures/samples.png'));
  if (manifest.codingShape.length === 1 && manifest.codingShape[0] === 2) {
    const grid = tf.tensor2d(latentGridCodings(), [LATENT_GRID.side ** 2, 2]);
    const decoded = await decodeAll(model, grid);
    grid.dispose();
    run.writeFile(
      'figures/latent-grid.png',
      imageGrid(rowsOf(decoded, size, LATENT_GRID.side), {
        sampleShape: manifest.inputShape,
        range: [0, 1],
        gap: 0,
      }),
    );
    written.push(run.path('figures/latent-grid.png'));
  }
  return written;
}

/**
 * Draws figures/reconstructions.png (samples of `data` above, their reconstructions below),
 * figures/loss.png (training and validation loss per epoch) and, for variants that sample
 * from a prior, figures/samples.png and (2-D codings) figures/latent-grid.png. Returns the
 * paths written.
 */
export async function drawRunFigures(
  run: RunDirectory,
  manifest: RunManifest,
  model: AutoencoderModel,
  data: Dataset,
  metrics: readonly EpochMetrics[],
  sampler?: SamplerSpec,
): Promise<string[]> {
  const written: string[] = [];
  if (sampler?.kind === 'prior') {
    written.push(...(await drawGenerativeFigures(run, manifest, model)));
  }
  const shown = data.slice(0, FIGURE_SAMPLES);
  if (shown.count > 0) {
    const f = shown.featureCount;
    const recon = await mapBatches(shown, manifest.inputShape, (x) => model.reconstruct(x));
    const originals = Array.from({ length: shown.count }, (_, i) =>
      shown.x.subarray(i * f, (i + 1) * f),
    );
    const outputs = Array.from({ length: shown.count }, (_, i) =>
      recon.subarray(i * f, (i + 1) * f),
    );
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of shown.x) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    run.writeFile(
      'figures/reconstructions.png',
      imageGrid([originals, outputs], { sampleShape: manifest.inputShape, range: [lo, hi] }),
    );
    written.push(run.path('figures/reconstructions.png'));
  }
  if (metrics.length > 0) written.push(await drawLossFigure(run, manifest, metrics));
  return written;
}

/**
 * figures/loss.png: training and validation loss per epoch and every logged loss term (a
 * VAE's reconstruction and latent losses, an adversarial autoencoder's three, …).
 */
export async function drawLossFigure(
  run: RunDirectory,
  manifest: RunManifest,
  metrics: readonly EpochMetrics[],
): Promise<string> {
  const terms = lossTerms(metrics);
  const points: SeriesPoint[] = metrics.flatMap((m) => [
    { x: m.epoch, y: m.loss, series: 'training' },
    ...(m.valLoss !== undefined ? [{ x: m.epoch, y: m.valLoss, series: 'validation' }] : []),
    ...terms.flatMap((t) =>
      m[t] !== undefined ? [{ x: m.epoch, y: m[t] as number, series: `training: ${t}` }] : [],
    ),
  ]);
  const png = await lineChartPng(points, {
    title: `${manifest.variant} autoencoder: loss per epoch`,
    xTitle: 'epoch',
    yTitle: 'loss',
  });
  run.writeFile('figures/loss.png', png);
  return run.path('figures/loss.png');
}

/** The loss terms of metrics lines: every numeric key but the bookkeeping ones. */
export function lossTerms(metrics: readonly EpochMetrics[]): string[] {
  const skip = new Set(['epoch', 'loss', 'valLoss', 'seconds', 'samplesPerSecond', 'phase']);
  return [...new Set(metrics.flatMap((m) => Object.keys(m)))].filter((k) => !skip.has(k));
}
