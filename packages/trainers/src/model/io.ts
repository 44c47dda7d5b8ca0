import { aekitError, getVariant, parseVariantOptions } from '@aekit/core';
import type { RunDirectory } from '@aekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import {
  type AutoencoderModel,
  asTfjsPlugin,
  disposeNetworks,
  type TfjsVariantPlugin,
} from '../plugin.js';
import { withClassifier } from './classifier.js';

/** Folder of network `name` inside a run, relative to the run root. */
export const networkDir = (name: string): string => `model/${name}`;

/**
 * Saves `model` as TensorFlow.js layers artifacts (model.json + weights.bin) in `dir` of the
 * run, each file written atomically. `tf.loadLayersModel` reads them back.
 */
export async function saveNetwork(
  run: RunDirectory,
  dir: string,
  model: LayersModel,
): Promise<void> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts) throw new Error('tfjs did not hand over the model artifacts');
  const weightData = tf.io.concatenateArrayBuffers(
    Array.isArray(artifacts.weightData)
      ? artifacts.weightData
      : artifacts.weightData
        ? [artifacts.weightData]
        : [],
  );
  run.writeFile(`${dir}/weights.bin`, new Uint8Array(weightData));
  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_core}`,
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
  };
  run.writeFile(`${dir}/model.json`, JSON.stringify(modelJson));
}

/**
 * Loads the weights saved in `dir` of the run into `model` (built from the same config),
 * matching them in order and checking every shape.
 */
export function loadNetworkWeights(run: RunDirectory, dir: string, model: LayersModel): void {
  const jsonPath = run.path(dir, 'model.json');
  const corrupt = (path: string, reason: string) => aekitError('CorruptRunFile', path, reason);
  let json: { weightsManifest?: { weights?: tf.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(run.readFile(`${dir}/model.json`).toString('utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw corrupt(jsonPath, `not valid JSON (${err.message}).`);
    throw err;
  }
  const specs = Array.isArray(json?.weightsManifest)
    ? json.weightsManifest.flatMap((g) => (Array.isArray(g?.weights) ? g.weights : []))
    : undefined;
  // aekit's networks hold float32 weights, each saved once, unquantised.
  const valid = (s: tf.io.WeightsManifestEntry | null) =>
    typeof s?.name === 'string' &&
    s.dtype === 'float32' &&
    s.quantization === undefined &&
    Array.isArray(s.shape) &&
    s.shape.every((d) => Number.isSafeInteger(d) && d >= 0);
  if (!specs?.every(valid) || new Set(specs.map((s) => s.name)).size !== specs.length) {
    throw corrupt(jsonPath, 'it has no valid weightsManifest (the list of weights).');
  }
  const data = run.readFile(`${dir}/weights.bin`);
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (data.byteLength !== expected) {
    throw corrupt(
      run.path(dir, 'weights.bin'),
      `it holds ${data.byteLength} bytes; model.json describes ${expected}.`,
    );
  }
  const buffer = data.buffer.slice(
    data.byteOffset,
    data.byteOffset + data.byteLength,
  ) as ArrayBuffer;
  const named = tf.io.decodeWeights(buffer, specs);
  const tensors = specs.map((s) => named[s.name]!);
  try {
    setWeightsChecked(model, tensors, `${run.root}/${dir}`);
  } finally {
    tf.dispose(tensors);
  }
}

/** `model.setWeights(tensors)` after checking count and shapes, with a typed error. */
export function setWeightsChecked(model: LayersModel, tensors: tf.Tensor[], where: string): void {
  const expected = model.weights;
  if (expected.length !== tensors.length) {
    throw aekitError(
      'CheckpointMismatch',
      `${where} holds ${tensors.length} weight arrays, network "${model.name}" has ${expected.length}.`,
    );
  }
  expected.forEach((w, i) => {
    const got = tensors[i]!.shape;
    if (got.join('x') !== w.shape.join('x')) {
      throw aekitError(
        'CheckpointMismatch',
        `${where}: weight ${i} (${w.name}) has shape [${got}], network "${model.name}" expects [${w.shape}].`,
      );
    }
  });
  model.setWeights(tensors);
}

/**
 * Rebuilds a run's model and loads its saved weights (model/); returns them with the manifest
 * (read here unless given), the variant's plugin and its parsed options.
 */
export function loadRunModel(
  run: RunDirectory,
  manifest: ReturnType<RunDirectory['readManifest']> = run.readManifest(),
): {
  model: AutoencoderModel;
  manifest: ReturnType<RunDirectory['readManifest']>;
  plugin: TfjsVariantPlugin;
  config: ReturnType<typeof parseVariantOptions<TfjsVariantPlugin>>;
} {
  const plugin = asTfjsPlugin(getVariant(manifest.variant));
  const config = parseVariantOptions(plugin, manifest.options);
  const built = plugin.trainer.build({
    config,
    inputShape: manifest.inputShape,
    seed: manifest.training.seed,
  });
  // A classifier run adds its head to the encoder (its weights come with the others).
  const model = manifest.classifier
    ? withClassifier(built, manifest.classifier.classes.length)
    : built;
  try {
    for (const [name, net] of Object.entries(model.networks)) {
      const dir = manifest.networks[name];
      if (!dir)
        throw aekitError('RunNotFound', run.root, `the manifest lists no saved network "${name}"`);
      loadNetworkWeights(run, dir, net);
    }
  } catch (err) {
    // A run whose weights cannot be loaded leaves no networks behind.
    disposeNetworks(model.networks);
    throw err;
  }
  return { model, manifest, plugin, config };
}
