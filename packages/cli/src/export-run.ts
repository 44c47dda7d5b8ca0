import { RunDirectory } from '@aekit/core/node';
import {
  type ExportModelInput,
  type ExportOptions,
  type ExportReport,
  exportModel,
} from '@aekit/export';
import {
  CLASSIFIER_GRAPH,
  DEFAULT_ONNX_GRAPHS,
  disposeNetworks,
  loadEvaluationData,
  loadRunModel,
  selectBackend,
} from '@aekit/trainers';

/** Options of {@link exportRun}. */
export interface ExportRunOptions extends ExportOptions {
  /** tfjs backend computing the reference outputs (default `wasm`). */
  readonly backend?: string;
  /** How many held-out samples the self-check runs (default 256). */
  readonly checkSamples?: number;
  /** Folder of the data set's files, if they moved since training. */
  readonly dataDir?: string;
}

/**
 * Exports a trained run directory to ONNX (`aekit export`): loads its networks with
 * `@aekit/trainers`, asks its variant which graphs to write, and hands them to
 * `@aekit/export`'s `exportModel`, which checks every graph against TensorFlow.js on
 * held-out samples before writing `onnx/*.onnx` and `onnx/aekit.json`.
 */
export async function exportRun(
  dir: string,
  options: ExportRunOptions = {},
): Promise<ExportReport> {
  const run = new RunDirectory(dir);
  const manifest = run.readManifest();
  // A data set kept only in memory while training cannot be read back: random inputs then.
  let samples: ExportModelInput['samples'];
  if (!manifest.data.source.startsWith('memory:')) {
    const { heldOut, split } = loadEvaluationData(manifest, options.dataDir);
    const data = heldOut.slice(0, options.checkSamples ?? 256);
    samples = { x: data.x, count: data.count, from: split };
  }
  await selectBackend(options.backend ?? 'wasm');
  const { model, plugin, config } = loadRunModel(run, manifest);
  const own = plugin.trainer.onnxGraphs?.(config) ?? DEFAULT_ONNX_GRAPHS;
  const outputActivation = plugin.trainer.outputActivation?.(config);
  const sampler = plugin.trainer.sampler?.(config);
  try {
    return await exportModel(
      {
        run: run.root,
        networks: model.networks,
        // A classifier run also exports its classifier: input -> class probabilities.
        graphs: manifest.classifier ? [...own, CLASSIFIER_GRAPH] : own,
        capabilities: [...plugin.capabilities, ...(manifest.classifier ? ['classify'] : [])],
        ...(outputActivation ? { outputActivation } : {}),
        ...(sampler ? { sampler } : {}),
        ...(samples ? { samples } : {}),
      },
      {
        ...(options.opset !== undefined ? { opset: options.opset } : {}),
        ...(options.tolerance !== undefined ? { tolerance: options.tolerance } : {}),
      },
    );
  } finally {
    disposeNetworks(model.networks);
  }
}
