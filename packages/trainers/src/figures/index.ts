import type { Dataset, EpochMetrics, RunManifest, SamplerSpec } from '@aekit/core';
import { imageGrid, type RunDirectory } from '@aekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import type * as vegaLite from 'vega-lite';
import { mapBatches } from '../model/batches.js';
import { type AutoencoderModel, describeLoss, type LossDescription } from '../plugin.js';
import { lineChartPng, type SeriesPoint, specToPng } from './chart.js';
import { drawSamples, samplerCaption } from './sampling.js';
import { pngSize, tileFigurePng } from './tiles.js';

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
 * For variants that sample (any {@link SamplerSpec}): figures/samples.png, samples drawn as
 * the sampler says with the run's seed, titled with how; and for a 2-D coding,
 * figures/latent-grid.png, the decoded grid of {@link latentGridCodings} with the
 * coordinates on its axes.
 */
export async function drawSampleFigures(
  run: RunDirectory,
  manifest: RunManifest,
  model: AutoencoderModel,
  sampler: SamplerSpec,
): Promise<string[]> {
  const written: string[] = [];
  const size = manifest.inputShape.reduce((a, b) => a * b, 1);
  const [rows, cols] = SAMPLE_GRID;
  const samples = await drawSamples(model, sampler, rows * cols, manifest, manifest.training.seed);
  const image = { sampleShape: manifest.inputShape, range: [0, 1] as const, gap: 0 };
  run.writeFile(
    'figures/samples.png',
    await tileFigurePng({
      title: `${manifest.variant}: ${rows * cols} samples (seed ${manifest.training.seed})`,
      subtitle: samplerCaption(sampler),
      rows: rowsOf(samples, size, cols).map((row) =>
        row.map((sample) => ({ png: imageGrid([[sample]], image) })),
      ),
    }),
  );
  written.push(run.path('figures/samples.png'));
  if (manifest.codingShape.length === 1 && manifest.codingShape[0] === 2) {
    const grid = tf.tensor2d(latentGridCodings(), [LATENT_GRID.side ** 2, 2]);
    const decoded = tf.tidy(() => model.networks.decoder.predict(grid) as tf.Tensor);
    const values = (await decoded.data()) as Float32Array;
    tf.dispose([grid, decoded]);
    const png = imageGrid(rowsOf(values, size, LATENT_GRID.side), { ...image, scale: 1 });
    run.writeFile(
      'figures/latent-grid.png',
      await specToPng(latentGridSpec(png, `${manifest.variant}: decoded latent grid`)),
    );
    written.push(run.path('figures/latent-grid.png'));
  }
  return written;
}

/**
 * The decoded latent grid as a chart: the grid image over the plane it covers, the
 * coordinates z₁ and z₂ on its axes (each image sits at its coding).
 */
export function latentGridSpec(png: Buffer, title: string): vegaLite.TopLevelSpec {
  const { side, extent } = LATENT_GRID;
  const [width, height] = pngSize(png);
  // Each image covers a cell of the grid's step, centred on its coding.
  const half = extent / (side - 1) + extent;
  const axis = (name: string, field: string) => ({
    field,
    type: 'quantitative' as const,
    title: name,
    scale: { domain: [-half, half], nice: false, zero: false },
    axis: { values: [-2, -1, 0, 1, 2], grid: false },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: title,
      subtitle: `codings on a ${side}x${side} grid over [-${extent}, ${extent}]², decoded`,
      anchor: 'start',
    },
    width,
    height,
    background: 'white',
    data: { values: [{ x: 0, y: 0, url: `data:image/png;base64,${png.toString('base64')}` }] },
    mark: { type: 'image', width, height, smooth: false },
    encoding: {
      x: axis('coding z₁', 'x'),
      y: axis('coding z₂', 'y'),
      url: { field: 'url', type: 'nominal' },
    },
  };
}

/**
 * Draws figures/reconstructions.png (samples of `data` above, their reconstructions below),
 * figures/loss.png (training and validation loss per epoch) and, for variants that sample
 * (`sampler`, whatever its kind), figures/samples.png and (2-D codings)
 * figures/latent-grid.png. Returns the paths written.
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
  if (sampler) written.push(...(await drawSampleFigures(run, manifest, model, sampler)));
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
  if (metrics.length > 0) {
    written.push(
      await drawLossFigure(run, manifest, metrics, describeLoss(model, manifest.inputShape)),
    );
  }
  return written;
}

/**
 * figures/loss.png: training and validation loss per epoch and every logged loss term (a
 * VAE's reconstruction and latent losses, an adversarial autoencoder's three, …), the
 * y-axis naming the loss and its unit (`loss`, see {@link describeLoss}).
 */
export async function drawLossFigure(
  run: RunDirectory,
  manifest: RunManifest,
  metrics: readonly EpochMetrics[],
  loss?: LossDescription,
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
    yTitle: loss ? `${loss.name} (${loss.unit})` : 'loss',
  });
  run.writeFile('figures/loss.png', png);
  return run.path('figures/loss.png');
}

/** The loss terms of metrics lines: every numeric key but the bookkeeping ones. */
export function lossTerms(metrics: readonly EpochMetrics[]): string[] {
  const skip = new Set(['epoch', 'loss', 'valLoss', 'seconds', 'samplesPerSecond', 'phase']);
  return [...new Set(metrics.flatMap((m) => Object.keys(m)))].filter((k) => !skip.has(k));
}
