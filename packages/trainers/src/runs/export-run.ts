import { RunDirectory } from '@aekit/core/node';
import {
  type ExportModelInput,
  type ExportOptions,
  type ExportReport,
  exportModel,
} from '@aekit/export';
import { selectBackend } from '../backends/index.js';
import { CLASSIFIER_GRAPH } from '../model/classifier.js';
import { loadRunModel } from '../model/io.js';
import { DEFAULT_ONNX_GRAPHS, disposeNetworks } from '../plugin.js';
import { loadEvaluationData } from './evaluate.js';

export type { ExportReport };

/** Held-out samples the quality of an export's precision is measured on, unless told. */
export const QUALITY_SAMPLES = 1000;

/** Options of {@link exportRun}: `@aekit/export`'s options, and where the check runs. */
export interface ExportRunOptions extends ExportOptions {
  /** tfjs backend computing the reference outputs (default `wasm`). */
  readonly backend?: string;
  /** How many samples the self-check runs (default 256). */
  readonly checkSamples?: number;
  /**
   * How many held-out samples the quality of a `precision` is measured on (default
   * {@link QUALITY_SAMPLES}).
   */
  readonly qualitySamples?: number;
  /** Folder of the data set's files, if they moved since training. */
  readonly dataDir?: string;
}

/**
 * Exports a trained run directory to ONNX (what `aekit export` runs): loads its networks,
 * asks its variant which graphs to write, and hands them to
 * `@aekit/export`'s `exportModel`, which checks every graph against TensorFlow.js before
 * writing `onnx/*.onnx` and `onnx/aekit.json`. The check runs on held-out samples (the test
 * split, else the validation split); a run trained with `validationSplit: 0` on a file has
 * none, so on training samples; a run trained on in-memory data, on seeded random inputs.
 * The report's `samplesFrom` says which. With `precision`, the graphs are stored at that
 * precision when their quality, measured on up to {@link QUALITY_SAMPLES} of the same samples
 * (with their labels, where the data has them), fits `maxQualityLoss`.
 */
export async function exportRun(
  dir: string,
  options: ExportRunOptions = {},
): Promise<ExportReport> {
  return withExportInput(dir, options, (input) =>
    exportModel(input, {
      ...(options.opset !== undefined ? { opset: options.opset } : {}),
      ...(options.tolerance !== undefined ? { tolerance: options.tolerance } : {}),
      ...(options.precision !== undefined ? { precision: options.precision } : {}),
      ...(options.maxQualityLoss !== undefined ? { maxQualityLoss: options.maxQualityLoss } : {}),
    }),
  );
}

/**
 * Loads a run's networks and what its variant declares (graphs, capabilities, sampler) and
 * its check samples, as `@aekit/export` takes them, and hands them to `use`; the networks
 * are disposed after it settles.
 */
export async function withExportInput<T>(
  dir: string,
  options: Pick<ExportRunOptions, 'backend' | 'checkSamples' | 'qualitySamples' | 'dataDir'>,
  use: (input: ExportModelInput) => Promise<T>,
): Promise<T> {
  const run = new RunDirectory(dir);
  const manifest = run.readManifest();
  // A data set kept only in memory while training cannot be read back: random inputs then.
  let samples: ExportModelInput['samples'];
  let qualitySamples: ExportModelInput['qualitySamples'];
  if (!manifest.data.source.startsWith('memory:')) {
    const { train, heldOut, split } = loadEvaluationData(manifest, options.dataDir);
    // Without held-out samples (validation split 0), the training samples are the data.
    const [from, source] = heldOut.count > 0 ? [split, heldOut] : (['training', train] as const);
    if (source.count > 0) {
      const data = source.slice(0, options.checkSamples ?? 256);
      samples = { x: data.x, count: data.count, from };
      const measured = source.slice(0, options.qualitySamples ?? QUALITY_SAMPLES);
      qualitySamples = {
        x: measured.x,
        count: measured.count,
        from,
        ...(measured.labels ? { labels: measured.labels } : {}),
      };
    }
  }
  await selectBackend(options.backend ?? 'wasm');
  const { model, plugin, config } = loadRunModel(run, manifest);
  const own = plugin.trainer.onnxGraphs?.(config) ?? DEFAULT_ONNX_GRAPHS;
  const outputActivation = plugin.trainer.outputActivation?.(config);
  const sampler = plugin.trainer.sampler?.(config);
  try {
    return await use({
      run: run.root,
      networks: model.networks,
      // A classifier run also exports its classifier: input -> class probabilities.
      graphs: manifest.classifier ? [...own, CLASSIFIER_GRAPH] : own,
      capabilities: [...plugin.capabilities, ...(manifest.classifier ? ['classify' as const] : [])],
      ...(outputActivation ? { outputActivation } : {}),
      ...(sampler ? { sampler } : {}),
      ...(samples ? { samples } : {}),
      ...(qualitySamples ? { qualitySamples } : {}),
    });
  } finally {
    disposeNetworks(model.networks);
  }
}
