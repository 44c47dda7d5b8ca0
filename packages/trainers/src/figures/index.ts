import type { Dataset, EpochMetrics, RunManifest } from '@aekit/core';
import { imageGrid, type RunDirectory } from '@aekit/core/node';
import { mapBatches } from '../engine/loss.js';
import type { AutoencoderModel } from '../plugin.js';
import { lineChartPng, type SeriesPoint } from './chart.js';

export { lineChartPng } from './chart.js';

/** How many samples the reconstruction figure shows. */
export const FIGURE_SAMPLES = 10;

/**
 * Draws figures/reconstructions.png (samples of `data` above, their reconstructions below)
 * and figures/loss.png (training and validation loss per epoch). Returns the paths written.
 */
export async function drawRunFigures(
  run: RunDirectory,
  manifest: RunManifest,
  model: AutoencoderModel,
  data: Dataset,
  metrics: readonly EpochMetrics[],
): Promise<string[]> {
  const written: string[] = [];
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
    const points: SeriesPoint[] = metrics.flatMap((m) => [
      { x: m.epoch, y: m.loss, series: 'training' },
      ...(m.valLoss !== undefined ? [{ x: m.epoch, y: m.valLoss, series: 'validation' }] : []),
    ]);
    const png = await lineChartPng(points, {
      title: `${manifest.variant} autoencoder: loss per epoch`,
      xTitle: 'epoch',
      yTitle: 'loss',
    });
    run.writeFile('figures/loss.png', png);
    written.push(run.path('figures/loss.png'));
  }
  return written;
}
