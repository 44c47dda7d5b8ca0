import { createRequire } from 'node:module';
import {
  aekitError,
  type CapabilityKind,
  type CheckSampleSource,
  createRng,
  DEFAULT_ONNX_GRAPHS,
  EXPORTED_MODEL_FILE,
  type ExportCheck,
  type ExportQuality,
  graphFileName,
  type Normalization,
  type OnnxGraphDescription,
  PRECISIONS,
  type Precision,
  type RunManifest,
  type SamplerSpec,
  TENSOR_NAMES,
  undoNormalization,
  writeExportedModel,
} from '@aekit/core';
import { RunDirectory } from '@aekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { type Affine, describedGraphSpec, layersToOnnx } from './layers-to-onnx.js';
import { DEFAULT_OPSET, MAX_OPSET, MIN_OPSET } from './onnx-model.js';
import {
  AUTO_PRECISIONS,
  compareQuality,
  DEFAULT_MAX_QUALITY_LOSS,
  describeQuality,
  type QualityFigures,
  type QualitySamples,
  qualityFigures,
} from './quality.js';
import { quantizeGraph } from './quantize.js';
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
  /**
   * The precision the weights are written at: `fp32` (default), `fp16`, `int8` (weight-only,
   * a scale per output channel), or `auto`, the smallest of int8, fp16 and fp32 whose
   * quality loss fits `maxQualityLoss`. Given at all, even `fp32`, the export measures the
   * graphs' quality on held-out samples and records it in `aekit.json`.
   */
  readonly precision?: Precision | 'auto';
  /**
   * The largest relative quality loss against the float32 graphs that a smaller precision
   * may have, a number from 0 (default {@link DEFAULT_MAX_QUALITY_LOSS}, 1%): over it,
   * `QualityBudgetExceeded` and nothing is written.
   */
  readonly maxQualityLoss?: number;
}

/**
 * Options of {@link buildCheckedGraphs}: {@link ExportOptions} (it builds float32 graphs and
 * ignores `precision` and `maxQualityLoss`), and whether to fold.
 */
export interface BuildGraphsOptions extends ExportOptions {
  /**
   * Folds the run's normalisation into the graphs: a graph whose input is samples takes
   * them raw (as the training data had them) and a graph whose output is samples
   * (`reconstruction`) gives them raw. The check then feeds raw samples and compares with
   * TensorFlow.js's outputs mapped back to the raw scale.
   */
  readonly foldNormalization?: boolean;
}

/** One graph built and checked by {@link buildCheckedGraphs}, not written yet. */
export interface CheckedGraph {
  readonly graph: OnnxGraphDescription;
  /** The `.onnx` file's bytes. */
  readonly bytes: Uint8Array;
  /** Largest |ONNX Runtime − tfjs| over the check samples and every output. */
  readonly maxAbsDiff: number;
}

/** What {@link buildCheckedGraphs} gives: graphs that passed the check, and the check. */
export interface CheckedGraphs {
  readonly graphs: readonly CheckedGraph[];
  readonly opset: number;
  readonly check: ExportCheck;
  /** The ONNX Runtime the check ran on. */
  readonly runtime: OnnxRuntimeInfo;
  /** The aekit version that built them. */
  readonly aekitVersion: string;
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
  /**
   * Held-out samples (of the manifest's input shape, flattened) the quality of the precision
   * is measured on, with their labels when known (precision@10 and accuracy need them);
   * default: the check samples.
   */
  readonly qualitySamples?: QualitySamples;
}

/** One exported graph. */
export interface ExportedGraph {
  readonly role: string;
  readonly path: string;
  readonly bytes: number;
  /** Its size with float32 weights, where the export wrote another precision. */
  readonly fp32Bytes?: number;
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
  /** The precision of the weights written. */
  readonly precision: Precision;
  /** Their quality against float32, when a precision was asked for (as `aekit.json` has it). */
  readonly quality?: ExportQuality;
  /** With `precision: 'auto'`: the smaller precisions tried first, whose loss was over budget. */
  readonly overBudget?: readonly { readonly precision: Precision; readonly loss: number }[];
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

/** `x * scale + offset` that undoes `n` (as `undoNormalization` does, feature by feature). */
export function inverseNormalization(n: Normalization): Affine {
  const inverse = (s: number, o: number): [number, number] => (s === 0 ? [0, o] : [1 / s, -o / s]);
  if (typeof n.scale === 'number' && typeof n.offset === 'number') {
    const [scale, offset] = inverse(n.scale, n.offset);
    return { scale, offset };
  }
  const count = Math.max(
    typeof n.scale === 'number' ? 1 : n.scale.length,
    typeof n.offset === 'number' ? 1 : n.offset.length,
  );
  const at = (v: number | readonly number[], i: number): number =>
    typeof v === 'number' ? v : (v[i] ?? 0);
  const pairs = Array.from({ length: count }, (_, i) => inverse(at(n.scale, i), at(n.offset, i)));
  return { scale: pairs.map((p) => p[0]), offset: pairs.map((p) => p[1]) };
}

/**
 * The text of a run's `aekit.json`: what its manifest and variant declare, the graphs, and
 * the parity check once it ran (core's writer checks every field).
 */
function exportedModelJson(
  manifest: RunManifest,
  input: Pick<ExportModelInput, 'capabilities' | 'outputActivation' | 'sampler'>,
  graphs: Parameters<typeof writeExportedModel>[0]['graphs'],
  check?: ExportCheck,
  stored?: { readonly precision: Precision; readonly quality?: ExportQuality },
): string {
  const { capabilities, outputActivation, sampler } = input;
  return writeExportedModel({
    variant: manifest.variant,
    inputShape: manifest.inputShape,
    codingShape: manifest.codingShape,
    normalization: manifest.normalization,
    ...(outputActivation ? { outputActivation } : {}),
    capabilities,
    ...(sampler ? { sampler } : {}),
    ...(manifest.classifier ? { classes: manifest.classifier.classes } : {}),
    ...(check ? { check } : {}),
    ...(stored ? { precision: stored.precision } : {}),
    ...(stored?.quality ? { quality: stored.quality } : {}),
    graphs,
    aekitVersion: AEKIT_VERSION,
  });
}

/**
 * Builds the ONNX graphs of trained networks and checks each against TensorFlow.js (on its
 * active backend), writing nothing: what {@link exportModel} writes to a run's `onnx/`, and
 * what other layouts (a serving repository) write elsewhere. With `foldNormalization`, the
 * run's normalisation is folded into the graphs (see {@link BuildGraphsOptions}).
 *
 * @throws AekitError `ExportMismatch` when a graph differs from tfjs by more than the
 *   tolerance (scaled to the output's largest magnitude), `InvalidArgument` for an opset out
 *   of range or networks the graphs do not name, `EmptyDataset` for no check samples.
 */
export async function buildCheckedGraphs(
  input: ExportModelInput,
  options: BuildGraphsOptions = {},
): Promise<CheckedGraphs> {
  const manifest = new RunDirectory(input.run).readManifest();
  const opset = options.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw aekitError(
      'InvalidArgument',
      `--opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${opset}.`,
    );
  }
  const graphs = input.graphs ?? DEFAULT_ONNX_GRAPHS;
  const { networks: models, capabilities, outputActivation } = input;
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
    exportedModelJson(manifest, input, graphs, check);
  aekitJson();
  const runtime = await onnxRuntime(options.runtime);
  // The encoder's first output (the mean of a variational encoder) feeds the decoder check.
  const codings = runTfjsChain([encoder], samples, [count, ...manifest.inputShape])[0]!.data;
  const fold = options.foldNormalization === true;
  const normalization = manifest.normalization;
  // Raw samples for folded graphs: the check samples mapped back to the data's own scale.
  const rawSamples = fold ? undoNormalization(samples, size, normalization) : samples;
  const rawOutput = fold ? inverseNormalization(normalization) : undefined;
  const baseMetadata: Record<string, string> = {
    'aekit.variant': manifest.variant,
    'aekit.input_shape': JSON.stringify(manifest.inputShape),
    'aekit.coding_shape': JSON.stringify(manifest.codingShape),
    'aekit.normalization': JSON.stringify(manifest.normalization),
    'aekit.capabilities': JSON.stringify(capabilities),
    'aekit.version': AEKIT_VERSION,
    ...(outputActivation ? { 'aekit.output_activation': outputActivation } : {}),
    ...(fold ? { 'aekit.normalization_folded': 'true' } : {}),
  };

  const built: CheckedGraph[] = [];
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
    const inShape = inputShapeOf(networks[0]!);
    // Graphs whose input is samples take them raw; those whose output is samples give them raw.
    const foldsInput =
      fold &&
      graph.inputName === TENSOR_NAMES.input &&
      inShape.join('x') === manifest.inputShape.join('x');
    const foldsOutput = fold && graph.outputName === TENSOR_NAMES.reconstruction;
    const bytes = layersToOnnx({
      ...describedGraphSpec(graph, networks),
      ...(foldsInput ? { inputAffine: normalization } : {}),
      ...(foldsOutput && rawOutput ? { outputAffine: rawOutput } : {}),
      opset,
      metadata: { ...baseMetadata, 'aekit.graph': graph.role },
      docString: `aekit ${manifest.variant} autoencoder: ${graph.role} (${graph.inputName} -> ${outputNames.join(', ')})`,
    });
    const x =
      inShape.join('x') === manifest.inputShape.join('x')
        ? samples
        : inShape.join('x') === manifest.codingShape.join('x')
          ? codings
          : randomInputs(inShape, count, manifest.training.seed + 1);
    const expected = runTfjsChain(networks, x, [count, ...inShape]);
    if (foldsOutput) {
      const first = expected[0]!;
      const perSample = first.dims.slice(1).reduce((a, b) => a * b, 1);
      expected[0] = { ...first, data: undoNormalization(first.data, perSample, normalization) };
    }
    const onnxInput = foldsInput ? rawSamples : x;
    const actual = await runOnnxOutputs(bytes, onnxInput, [count, ...inShape], {
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
    built.push({ graph, bytes, maxAbsDiff: diff });
  }
  const worst = Math.max(0, ...built.map((b) => b.maxAbsDiff));
  return {
    graphs: built,
    opset,
    check: { samples: count, from, maxAbsDiff: worst },
    runtime,
    aekitVersion: AEKIT_VERSION,
  };
}

/** The graphs at the precision chosen, and their measured quality. */
interface StoredGraphs {
  readonly precision: Precision;
  /** Each built graph's bytes at that precision, in the same order. */
  readonly bytes: readonly Uint8Array[];
  readonly quality?: ExportQuality;
  /** The precisions tried before it, over budget. */
  readonly overBudget?: readonly { readonly precision: Precision; readonly loss: number }[];
}

/**
 * The precision asked for and the quality budget, checked.
 *
 * @throws AekitError `InvalidArgument` for an unknown precision or a budget that is not a
 *   number from 0.
 */
function precisionOptions(options: ExportOptions): {
  asked: Precision | 'auto' | undefined;
  budget: number;
} {
  const asked = options.precision;
  if (
    asked !== undefined &&
    asked !== 'auto' &&
    !(PRECISIONS as readonly string[]).includes(asked)
  ) {
    throw aekitError(
      'InvalidArgument',
      `--precision must be one of ${[...PRECISIONS, 'auto'].join(', ')}, got "${asked}".`,
    );
  }
  const budget = options.maxQualityLoss ?? DEFAULT_MAX_QUALITY_LOSS;
  if (!(typeof budget === 'number' && Number.isFinite(budget) && budget >= 0)) {
    throw aekitError(
      'InvalidArgument',
      `--max-quality-loss must be a number from 0 (0.01 allows a 1% loss), got ${budget}.`,
    );
  }
  return { asked, budget };
}

/**
 * Stores the checked float32 graphs at the precision `options` asks for: measures the
 * float32 graphs and each candidate (`auto`: int8, then fp16, then fp32) on the quality
 * samples in ONNX Runtime, and keeps the first whose loss fits the budget.
 *
 * @throws AekitError `QualityBudgetExceeded` when the precision asked for loses more than
 *   the budget.
 */
async function storeGraphs(
  input: ExportModelInput,
  manifest: RunManifest,
  checked: CheckedGraphs,
  qualitySamples: () => QualitySamples,
  options: ExportOptions,
): Promise<StoredGraphs> {
  const fp32 = checked.graphs.map((g) => g.bytes);
  const { asked, budget } = precisionOptions(options);
  if (asked === undefined) return { precision: 'fp32', bytes: fp32 };
  const samples = qualitySamples();
  const model = {
    inputShape: manifest.inputShape,
    codingShape: manifest.codingShape,
    capabilities: input.capabilities,
    ...(input.outputActivation ? { outputActivation: input.outputActivation } : {}),
    ...(manifest.classifier ? { classes: manifest.classifier.classes } : {}),
    seed: manifest.training.seed,
  };
  const measure = (bytes: readonly Uint8Array[]): Promise<QualityFigures> =>
    qualityFigures(
      checked.graphs.map((g, i) => ({ graph: g.graph, bytes: bytes[i]! })),
      model,
      samples,
      checked.runtime.name,
    );
  const reference = await measure(fp32);
  const refused: { precision: Precision; quality: ExportQuality }[] = [];
  for (const precision of asked === 'auto' ? AUTO_PRECISIONS : [asked]) {
    const bytes = precision === 'fp32' ? fp32 : fp32.map((b) => quantizeGraph(b, precision).bytes);
    const figures = precision === 'fp32' ? reference : await measure(bytes);
    const quality = compareQuality(reference, figures, budget, samples);
    if (quality.loss <= budget) {
      const overBudget = refused.map((r) => ({ precision: r.precision, loss: r.quality.loss }));
      return { precision, bytes, quality, ...(overBudget.length ? { overBudget } : {}) };
    }
    refused.push({ precision, quality });
  }
  // Only a precision asked for by name is refused: auto ends at fp32, which loses nothing.
  const { precision, quality } = refused[0]!;
  throw aekitError(
    'QualityBudgetExceeded',
    precision,
    describeQuality(quality),
    `${quality.samples} ${quality.from} samples`,
    quality.loss,
    budget,
  );
}

/**
 * Exports trained networks to ONNX: `onnx/encoder.onnx`, `decoder.onnx`, `autoencoder.onnx`
 * (or the graphs given) and `onnx/aekit.json` in the run directory, and records the export
 * in its manifest. Before anything is written, every graph runs in ONNX Runtime and is
 * compared with TensorFlow.js (on its active backend); a difference above the tolerance
 * fails with `ExportMismatch` and writes nothing. With `precision`, the checked graphs are
 * stored at that precision once their quality on held-out samples, against the float32
 * graphs, fits `maxQualityLoss` (else `QualityBudgetExceeded`, and nothing is written).
 *
 * @throws AekitError `ExportMismatch`, `InvalidArgument`, `EmptyDataset` as
 *   {@link buildCheckedGraphs} does; `InvalidArgument` for an unknown `precision` or a
 *   `maxQualityLoss` that is not a number from 0 (before any graph is built);
 *   `QualityBudgetExceeded` when the precision asked for loses more than the budget.
 */
export async function exportModel(
  input: ExportModelInput,
  options: ExportOptions = {},
): Promise<ExportReport> {
  const run = new RunDirectory(input.run);
  const manifest = run.readManifest();
  precisionOptions(options);
  const checked = await buildCheckedGraphs(input, options);
  const { graphs: built, opset, check, runtime } = checked;
  // The quality is measured on the samples given for it, else on the check's own samples.
  const samples = (): QualitySamples =>
    input.qualitySamples ?? {
      x:
        input.samples?.x ??
        randomInputs(manifest.inputShape, check.samples, manifest.training.seed),
      count: check.samples,
      from: check.from,
    };
  const stored = await storeGraphs(input, manifest, checked, samples, options);
  const graphs = built.map((b) => b.graph);
  const count = check.samples;
  const from = check.from;
  const aekitJson = (c: ExportCheck): string =>
    exportedModelJson(manifest, input, graphs, c, stored);

  // Every graph passed: only now is anything written (each file atomically), with the run
  // locked against another process writing it.
  const release = run.lock();
  try {
    return writeExport();
  } finally {
    release();
  }

  function writeExport(): ExportReport {
    const worst = check.maxAbsDiff;
    const description = aekitJson(check);
    const exported: ExportedGraph[] = built.map(({ graph, bytes: fp32, maxAbsDiff: diff }, i) => {
      const bytes = stored.bytes[i]!;
      run.writeFile(`onnx/${graphFileName(graph.role)}`, bytes);
      return {
        role: graph.role,
        path: run.path('onnx', graphFileName(graph.role)),
        bytes: bytes.length,
        ...(bytes !== fp32 ? { fp32Bytes: fp32.length } : {}),
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
        ...(stored.precision !== 'fp32' ? { precision: stored.precision } : {}),
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
      precision: stored.precision,
      ...(stored.quality ? { quality: stored.quality } : {}),
      ...(stored.overBudget ? { overBudget: stored.overBudget } : {}),
    };
  }
}
