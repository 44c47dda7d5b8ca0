import { RunDirectory } from '@aekit/core/node';
import { selectBackend } from '../backends/index.js';
import { drawInsideFigures, type InsideOptions } from '../figures/draw-inside.js';
import { drawLossFigure, drawSampleFigures } from '../figures/index.js';
import { loadRunModel } from '../model/io.js';
import { describeLoss, disposeNetworks } from '../plugin.js';
import { loadEvaluationData } from './evaluate.js';

/** Options of {@link drawFigures}. */
export interface FiguresOptions extends InsideOptions {
  readonly backend?: string;
  /** Folder of a built-in data set's files, if not where training found them. */
  readonly dataDir?: string;
}

/**
 * `aekit figures RUN`: what the model learned (features, top activations, dreams, the
 * codings' map; see {@link drawInsideFigures}), for a variant that samples samples.png (and
 * for a 2-D coding latent-grid.png, see {@link drawSampleFigures}), and loss.png with every
 * loss term, its y-axis naming the loss and its unit, in RUN/figures. Returns the paths written.
 */
export async function drawFigures(dir: string, options: FiguresOptions = {}): Promise<string[]> {
  const run = new RunDirectory(dir);
  const manifest = run.readManifest();
  await selectBackend(options.backend ?? 'auto');
  const { model, plugin, config } = loadRunModel(run, manifest);
  const release = run.lock();
  try {
    const { train, heldOut } = loadEvaluationData(manifest, options.dataDir);
    const written = await drawInsideFigures(run, manifest, model, train, heldOut, options);
    const sampler = plugin.trainer.sampler?.(config);
    if (sampler) {
      options.onFigure?.('samples');
      written.push(...(await drawSampleFigures(run, manifest, model, sampler)));
    }
    const metrics = run.readMetrics();
    if (metrics.length > 0) {
      options.onFigure?.('loss');
      written.push(
        await drawLossFigure(run, manifest, metrics, describeLoss(model, manifest.inputShape)),
      );
    }
    // The manifest lists the figures with the run's other files.
    run.writeManifest({ ...run.readManifest(), updatedAt: new Date().toISOString() });
    return written;
  } finally {
    release();
    disposeNetworks(model.networks);
  }
}
