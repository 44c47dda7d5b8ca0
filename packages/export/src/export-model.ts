import { createRequire } from 'node:module';
import {
  aekitError,
  type CapabilityKind,
  type CheckSampleSource,
  createRng,
  DEFAULT_ONNX_GRAPHS,
  EXPORTED_MODEL_FILE,
  type ExportCheck,
  graphFileName,
  type OnnxGraphDescription,
  type SamplerSpec,
  writeExportedModel,
} from '@aekit/core';
import { RunDirectory } from '@aekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { describedGraphSpec, layersToOnnx } from './layers-to-onnx.js';
import { DEFAULT_OPSET, MAX_OPSET, MIN_OPSET } from './onnx-model.js';
import {
  type OnnxRuntimeChoice,
  type OnnxRuntimeInfo,
  onnxRuntime,
  runOnnxOutputs,
} from './run-onnx.js';

/**
 * Largest difference allowed between ONNX Runtime and TensorFlow.js outputs, for outputs
 * within [-1, 1]; an output whose largest magnitude m is above 1 is allowed m times this.
 */
export const EXPORT_TOLERANCE = 1e-5;

/** Options of {@link exportModel}. */
export interface ExportOptions {
  readonly opset?: number;
  /**
   * Largest |ONNX Runtime - TensorFlow.js| allowed for outputs within [-1, 1] (default: the
   * graph's `parityTolerance`, else {@link EXPORT_TOLERANCE}).
   */
  readonly tolerance?: number;
  /**
   * The ONNX Runtime the check runs on (default `'auto'`: onnxruntime-node when installed,
   * else onnxruntime-web's WebAssembly build).
   */
  readonly runtime?: OnnxRuntimeChoice;
}

/** A trained model to export, with what its variant says about it. */
export interface ExportModelInput {
  /** The run directory: its manifest describes the model, the graphs go to its `onnx/`. */
  readonly run: string;
  /** The trained networks, by the names the graph descriptions use. */
  readonly networks: Readonly<Record<string, LayersModel>>;
  /** The graphs to write (default {@link DEFAULT_ONNX_GRAPHS}). */
  readonly graphs?: readonly OnnxGraphDescription[];
  /** What runtimes may do with the model beyond reconstruction (`sample`, `hash`, `classify`). */
  readonly capabilities: readonly CapabilityKind[];
  /** The activation of the reconstruction, recorded for runtimes (e.g. `sigmoid`). */
  readonly outputActivation?: string;
  /** How runtimes sample, for models with the `sample` capability. */
  readonly sampler?: SamplerSpec;
  /**
   * Samples (`count` of the manifest's input shape, flattened, at least one) the check runs
   * on, and where they came from (reported and recorded in `aekit.json`); without them it
   * runs on 64 seeded uniform inputs (`random`).
   */
  readonly samples?: {
    readonly x: Float32Array;
    readonly count: number;
    readonly from: Exclude<CheckSampleSource, 'random'>;
  };
}

/** One exported graph. */
export interface ExportedGraph {
  readonly role: string;
  readonly path: string;
  readonly bytes: number;
  readonly inputName: string;
  readonly outputName: string;
  /** Names of the graph's further outputs (e.g. `['log_variance']`), if it has any. */
  readonly extraOutputNames?: readonly string[];
  /** Largest |ONNX Runtime − tfjs| over the check samples and every output. */
  readonly maxAbsDiff: number;
}

/** What {@link exportModel} did. */
export interface ExportReport {
  readonly run: string;
  readonly dir: string;
  readonly opset: number;
  readonly graphs: readonly ExportedGraph[];
  /** Samples the self-check ran, and where they came from. */
  readonly samples: number;
  /**
   * `test` or `validation` (held-out samples), `training` (a run without held-out
   * samples), `file`, or `random` (seeded uniform inputs, for data that cannot be reloaded).
   */
  readonly samplesFrom: CheckSampleSource;
  readonly maxAbsDiff: number;
  /** The ONNX Runtime the check ran on. */
  readonly runtime: OnnxRuntimeInfo;
}

/** The version of @aekit/export, recorded in every exported model. */
const AEKIT_VERSION = (createRequire(import.meta.url)('../package.json') as { version: string })
  .version;

/** Seeded uniform inputs in [0, 1), for graphs whose input is not a data sample. */
function randomInputs(shape: readonly number[], count: number, seed: number): Float32Array {
  const rng = createRng(seed, 'export-check');
  return Float32Array.from({ length: count * shape.reduce((a, b) => a * b, 1) }, () => rng());
}

/**
 * Runs `networks` in sequence in tfjs (inference), as the exported graph does: a network
 * with several outputs passes its first to the next; returns the values and shape of every
 * output of the last.
 */
export function runTfjsChain(
  networks: readonly LayersModel[],
  x: Float32Array,
  shape: readonly number[],
): { data: Float32Array; dims: number[] }[] {
  const outs = tf.tidy(() => {
    let outputs: tf.Tensor[] = [tf.tensor(x, [...shape])];
    for (const net of networks) {
      const y = net.predict(outputs[0]!);
      outputs = Array.isArray(y) ? y : [y];
    }
    return outputs;
  });
  const results = outs.map((t) => ({ data: t.dataSync() as Float32Array, dims: [...t.shape] }));
  for (const t of outs) t.dispose();
  return results;
}

function inputShapeOf(net: LayersModel): number[] {
  return (net.inputs[0]!.shape.slice(1) as (number | null)[]).map((d) => d ?? 1);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * Exports trained networks to ONNX: `onnx/encoder.onnx`, `decoder.onnx`, `autoencoder.onnx`
 * (or the graphs given) and `onnx/aekit.json` in the run directory, and records the export
 * in its manifest. Before anything is written, every graph runs in ONNX Runtime and is
 * compared with TensorFlow.js (on its active backend); a difference above the tolerance
 * fails with `ExportMismatch` and writes nothing.
 */
export async function exportModel(
  input: ExportModelInput,
  options: ExportOptions = {},
): Promise<ExportReport> {
  const run = new RunDirectory(input.run);
  const manifest = run.readManifest();
  const opset = options.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw aekitError(
      'InvalidArgument',
      `--opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${opset}.`,
    );
  }
  const graphs = input.graphs ?? DEFAULT_ONNX_GRAPHS;
  const { networks: models, capabilities, outputActivation, sampler } = input;
  const encoder = models.encoder;
  if (!encoder)
    throw aekitError(
      'InvalidArgument',
      'The networks to export have no network named "encoder"; the codings the decoder is checked on come from it.',
    );
  const size = manifest.inputShape.reduce((a, b) => a * b, 1);
  // tfjs cannot run a batch of no samples (its predict fails inside concat): say so first.
  if (input.samples && !(Number.isInteger(input.samples.count) && input.samples.count >= 1)) {
    throw aekitError(
      'EmptyDataset',
      `The export check was given ${input.samples.count} ${input.samples.from} samples; it needs at least one (or none given, to check on seeded random inputs).`,
    );
  }
  if (input.samples && input.samples.x.length !== input.samples.count * size) {
    throw aekitError(
      'InvalidArgument',
      `The check samples hold ${input.samples.x.length} values, not ${input.samples.count} samples of [${manifest.inputShape.join(', ')}] (${input.samples.count * size} values): pass samples of the run's input shape, flattened.`,
    );
  }
  const count = input.samples?.count ?? 64;
  const samples =
    input.samples?.x ?? randomInputs(manifest.inputShape, count, manifest.training.seed);
  const from: CheckSampleSource = input.samples?.from ?? 'random';
  // aekit.json, built and checked by @aekit/core's writer; checked here first, without the
  // parity check's result, so that a variant's wrong declaration (a sampler out of range,
  // a capability no runtime knows) fails before any graph is built.
  const aekitJson = (check?: ExportCheck): string =>
    writeExportedModel({
      variant: manifest.variant,
      inputShape: manifest.inputShape,
      codingShape: manifest.codingShape,
      normalization: manifest.normalization,
      ...(outputActivation ? { outputActivation } : {}),
      capabilities,
      ...(sampler ? { sampler } : {}),
      ...(manifest.classifier ? { classes: manifest.classifier.classes } : {}),
      ...(check ? { check } : {}),
      graphs,
      aekitVersion: AEKIT_VERSION,
    });
  aekitJson();
  const runtime = await onnxRuntime(options.runtime);
  // The encoder's first output (the mean of a variational encoder) feeds the decoder check.
  const codings = runTfjsChain([encoder], samples, [count, ...manifest.inputShape])[0]!.data;
  const baseMetadata: Record<string, string> = {
    'aekit.variant': manifest.variant,
    'aekit.input_shape': JSON.stringify(manifest.inputShape),
    'aekit.coding_shape': JSON.stringify(manifest.codingShape),
    'aekit.normalization': JSON.stringify(manifest.normalization),
    'aekit.capabilities': JSON.stringify(capabilities),
    'aekit.version': AEKIT_VERSION,
    ...(outputActivation ? { 'aekit.output_activation': outputActivation } : {}),
  };

  const built: { graph: OnnxGraphDescription; bytes: Uint8Array; diff: number }[] = [];
  for (const graph of graphs) {
    const outputNames = [graph.outputName, ...(graph.extraOutputNames ?? [])];
    const networks = graph.networks.map((name) => {
      const net = models[name];
      if (!net)
        throw aekitError(
          'InvalidArgument',
          `Variant "${manifest.variant}" declares an ONNX graph over network "${name}", which it does not build.`,
        );
      return net;
    });
    const bytes = layersToOnnx({
      ...describedGraphSpec(graph, networks),
      opset,
      metadata: { ...baseMetadata, 'aekit.graph': graph.role },
      docString: `aekit ${manifest.variant} autoencoder: ${graph.role} (${graph.inputName} -> ${outputNames.join(', ')})`,
    });
    const inShape = inputShapeOf(networks[0]!);
    const x =
      inShape.join('x') === manifest.inputShape.join('x')
        ? samples
        : inShape.join('x') === manifest.codingShape.join('x')
          ? codings
          : randomInputs(inShape, count, manifest.training.seed + 1);
    const expected = runTfjsChain(networks, x, [count, ...inShape]);
    const actual = await runOnnxOutputs(bytes, x, [count, ...inShape], {
      inputName: graph.inputName,
      outputNames,
      runtime: runtime.name,
    });
    // Every output against tfjs's output of the same index (layersToOnnx checked the count).
    // The allowance is absolute for outputs within [-1, 1] and grows with larger ones, as
    // float32 rounding does (codings of magnitude 30 differ by more than 1e-5 on rounding
    // alone).
    const base = options.tolerance ?? graph.parityTolerance ?? EXPORT_TOLERANCE;
    const checks = actual.map((out, i) => {
      const reference = expected[i];
      if (!reference) return { diff: Number.POSITIVE_INFINITY, allowed: base };
      let scale = 1;
      for (const v of reference.data) scale = Math.max(scale, Math.abs(v));
      return { diff: maxAbsDiff(reference.data, out.data), allowed: base * scale };
    });
    const diff = Math.max(0, ...checks.map((c) => c.diff));
    const worst = checks.findIndex((c) => !(c.diff <= c.allowed));
    if (worst >= 0) {
      const where = actual.length > 1 ? ` (output "${outputNames[worst]}")` : '';
      throw aekitError(
        'ExportMismatch',
        `${graph.role}.onnx${where}`,
        checks[worst]!.diff,
        checks[worst]!.allowed,
      );
    }
    built.push({ graph, bytes, diff });
  }

  // Every graph passed: only now is anything written (each file atomically), with the run
  // locked against another process writing it.
  const release = run.lock();
  try {
    return writeExport();
  } finally {
    release();
  }

  function writeExport(): ExportReport {
    const worst = Math.max(0, ...built.map((b) => b.diff));
    const check: ExportCheck = { samples: count, from, maxAbsDiff: worst };
    const description = aekitJson(check);
    const exported: ExportedGraph[] = built.map(({ graph, bytes, diff }) => {
      run.writeFile(`onnx/${graphFileName(graph.role)}`, bytes);
      return {
        role: graph.role,
        path: run.path('onnx', graphFileName(graph.role)),
        bytes: bytes.length,
        inputName: graph.inputName,
        outputName: graph.outputName,
        ...(graph.extraOutputNames?.length ? { extraOutputNames: graph.extraOutputNames } : {}),
        maxAbsDiff: diff,
      };
    });
    run.writeFile(`onnx/${EXPORTED_MODEL_FILE}`, description);
    run.writeManifest({
      ...manifest,
      onnx: {
        files: exported.map((g) => `onnx/${graphFileName(g.role)}`),
        opset,
        maxAbsDiff: worst,
        check,
        exportedAt: new Date().toISOString(),
      },
      updatedAt: new Date().toISOString(),
    });
    return {
      run: run.root,
      dir: run.path('onnx'),
      opset,
      graphs: exported,
      samples: count,
      samplesFrom: from,
      maxAbsDiff: worst,
      runtime,
    };
  }
}
