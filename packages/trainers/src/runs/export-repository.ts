import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import {
  aekitError,
  type CheckSampleSource,
  EXPORTED_MODEL_FILE,
  IDENTITY,
  type Normalization,
  writeExportedModel,
} from '@aekit/core';
import {
  REPOSITORY_CONFIG_FILE,
  REPOSITORY_GRAPH_FILE,
  RunDirectory,
  repositoryVersions,
  writeAtomic,
  writingTo,
} from '@aekit/core/node';
import {
  buildCheckedGraphs,
  type OnnxRuntimeInfo,
  TRITON_MAX_BATCH_SIZE,
  type TritonTensor,
  tritonModelConfig,
  tritonModelName,
  tritonTensors,
} from '@aekit/export';
import { type ExportRunOptions, withExportInput } from './export-run.js';

/** Options of {@link exportToRepository}. */
export interface RepositoryExportOptions extends ExportRunOptions {
  /**
   * The models' name stem: each graph becomes the model `NAME-ROLE` (default: the run
   * folder's name, made a Triton model name).
   */
  readonly name?: string;
  /** The version to write (default: the next free one, 1 in a new repository). */
  readonly version?: number;
  /** Triton's `max_batch_size` (default {@link TRITON_MAX_BATCH_SIZE}). */
  readonly maxBatchSize?: number;
  /** Triton's dynamic batching delay (default 100 µs). */
  readonly maxQueueDelayMicroseconds?: number;
}

/** One model written to the repository: one graph of the run. */
export interface RepositoryModel {
  /** The graph's role: `encoder`, `decoder`, `autoencoder`, `classifier`. */
  readonly role: string;
  /** The model's name in the repository, `NAME-ROLE`. */
  readonly model: string;
  /** Its folder, `DIR/NAME-ROLE`. */
  readonly dir: string;
  /** The version folder written, `DIR/NAME-ROLE/VERSION`. */
  readonly versionDir: string;
  readonly inputs: readonly TritonTensor[];
  readonly outputs: readonly TritonTensor[];
  /** Bytes of `model.onnx`. */
  readonly bytes: number;
  /** Largest |ONNX Runtime − tfjs| of this graph, on the raw scale. */
  readonly maxAbsDiff: number;
}

/** What {@link exportToRepository} did. */
export interface RepositoryExportReport {
  readonly run: string;
  /** The repository folder. */
  readonly repository: string;
  readonly name: string;
  readonly version: number;
  readonly opset: number;
  readonly models: readonly RepositoryModel[];
  /** The normalisation folded into the graphs: their inputs and outputs are raw values. */
  readonly foldedNormalization: Normalization;
  readonly samples: number;
  readonly samplesFrom: CheckSampleSource;
  readonly maxAbsDiff: number;
  readonly runtime: OnnxRuntimeInfo;
}

/**
 * Adds a trained run's graphs to a Triton model repository (what
 * `aekit export RUN --repository DIR` runs), which NVIDIA Triton and KServe load as they are:
 *
 * ```
 * DIR/NAME-ROLE/config.pbtxt           Triton's configuration (onnxruntime_onnx platform)
 * DIR/NAME-ROLE/VERSION/model.onnx     the graph
 * DIR/NAME-ROLE/VERSION/aekit.json     aekit's description of that one graph
 * ```
 *
 * for every graph the run exports (`encoder`, `decoder`, `autoencoder`, `classifier`…). The
 * run's normalisation is folded into the graphs: they take samples as the training data had
 * them (0..255 pixels) and give reconstructions on that scale, so a client that knows
 * nothing of aekit gets the codings `aekit encode` gives. Every graph is checked in ONNX
 * Runtime against TensorFlow.js on the run's held-out samples (mapped back to the raw
 * scale) before anything is written.
 *
 * Each call adds one version to every model (the next free one, or `version`); an existing
 * version is never replaced. A version folder is written under a hidden temporary name and
 * renamed into place, so Triton never sees half a version; on a failure, what this call
 * added is removed.
 *
 * @throws AekitError `ExportMismatch` when a folded graph disagrees with tfjs,
 *   `RepositoryVersionExists` for a `version` already there, `CannotWrite` for a repository
 *   that cannot be written, `InvalidArgument` for a name or version that cannot be used, or
 *   for `precision` or `maxQualityLoss` (a repository's graphs are written at fp32).
 */
export async function exportToRepository(
  run: string,
  dir: string,
  options: RepositoryExportOptions = {},
): Promise<RepositoryExportReport> {
  for (const [option, flag] of [
    ['precision', '--precision'],
    ['maxQualityLoss', '--max-quality-loss'],
  ] as const) {
    if (options[option] !== undefined) {
      throw aekitError(
        'InvalidArgument',
        `${flag} is not available with --repository yet: a model repository's graphs are written at fp32. Export the run without --repository to store its weights at another precision.`,
      );
    }
  }
  const runDir = new RunDirectory(run);
  const manifest = runDir.readManifest();
  const name = options.name ?? tritonModelName(basename(resolve(run)));
  if (tritonModelName(name) !== name) {
    throw aekitError(
      'InvalidArgument',
      `--name "${name}" is not a Triton model name: use letters, digits, "_", "-" and "." (e.g. "${tritonModelName(name)}").`,
    );
  }
  if (
    options.version !== undefined &&
    !(Number.isSafeInteger(options.version) && options.version > 0)
  ) {
    throw aekitError(
      'InvalidArgument',
      `--version must be a positive integer, got ${options.version}.`,
    );
  }
  const { checked, capabilities, outputActivation, sampler } = await withExportInput(
    run,
    options,
    async (input) => ({
      checked: await buildCheckedGraphs(input, {
        ...(options.opset !== undefined ? { opset: options.opset } : {}),
        ...(options.tolerance !== undefined ? { tolerance: options.tolerance } : {}),
        foldNormalization: true,
      }),
      capabilities: input.capabilities,
      outputActivation: input.outputActivation,
      sampler: input.sampler,
    }),
  );
  const repository = resolve(dir);
  const modelName = (role: string): string => `${name}-${role}`;
  const models = checked.graphs.map((g) => ({
    ...g,
    dir: join(repository, modelName(g.graph.role)),
  }));
  const version =
    options.version ?? 1 + Math.max(0, ...models.flatMap((m) => repositoryVersions(m.dir)));
  for (const m of models) {
    const taken = join(m.dir, String(version));
    if (existsSync(taken)) throw aekitError('RepositoryVersionExists', taken);
  }
  // Everything is built and described before the first file is written.
  const files = models.map((m) => {
    const model = modelName(m.graph.role);
    return {
      ...m,
      model,
      config: tritonModelConfig(m.bytes, {
        name: model,
        ...(options.maxBatchSize !== undefined ? { maxBatchSize: options.maxBatchSize } : {}),
        ...(options.maxQueueDelayMicroseconds !== undefined
          ? { maxQueueDelayMicroseconds: options.maxQueueDelayMicroseconds }
          : {}),
      }),
      description: writeExportedModel({
        variant: manifest.variant,
        inputShape: manifest.inputShape,
        codingShape: manifest.codingShape,
        // The graphs take raw values: runtimes reading this file normalise nothing.
        normalization: IDENTITY,
        foldedNormalization: manifest.normalization,
        repository: { model, version },
        ...(outputActivation ? { outputActivation } : {}),
        capabilities,
        ...(sampler ? { sampler } : {}),
        ...(manifest.classifier ? { classes: manifest.classifier.classes } : {}),
        check: checked.check,
        graphs: [{ ...m.graph, file: REPOSITORY_GRAPH_FILE }],
        aekitVersion: checked.aekitVersion,
      }),
      ...tritonTensors(m.bytes),
    };
  });

  writeVersions(files, version);
  return {
    run: runDir.root,
    repository,
    name,
    version,
    opset: checked.opset,
    models: files.map((f) => ({
      role: f.graph.role,
      model: f.model,
      dir: f.dir,
      versionDir: join(f.dir, String(version)),
      inputs: f.inputs,
      outputs: f.outputs,
      bytes: f.bytes.length,
      maxAbsDiff: f.maxAbsDiff,
    })),
    foldedNormalization: manifest.normalization,
    samples: checked.check.samples,
    samplesFrom: checked.check.from,
    maxAbsDiff: checked.check.maxAbsDiff,
    runtime: checked.runtime,
  };
}

interface VersionFiles {
  readonly dir: string;
  readonly bytes: Uint8Array;
  readonly config: string;
  readonly description: string;
}

/**
 * Writes one version of every model: each version folder staged under a hidden name (Triton
 * reads only numeric version folders), then `config.pbtxt` (atomically) and the rename into
 * place. On a failure, what was added is removed and replaced configurations restored.
 */
function writeVersions(models: readonly VersionFiles[], version: number): void {
  const undo: (() => void)[] = [];
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const staged = models.map((m) => {
      const existed = existsSync(m.dir);
      writingTo(m.dir, () => mkdirSync(m.dir, { recursive: true }));
      if (!existed) undo.push(() => rmSync(m.dir, { recursive: true, force: true }));
      const temp = join(m.dir, `.aekit-${version}-${tag}`);
      undo.push(() => rmSync(temp, { recursive: true, force: true }));
      writingTo(temp, () => mkdirSync(temp));
      writeAtomic(join(temp, REPOSITORY_GRAPH_FILE), m.bytes);
      writeAtomic(join(temp, EXPORTED_MODEL_FILE), m.description);
      return { ...m, temp, existed };
    });
    for (const m of staged) {
      const config = join(m.dir, REPOSITORY_CONFIG_FILE);
      const before = existsSync(config) ? readFileSync(config) : undefined;
      writeAtomic(config, m.config);
      if (before) undo.push(() => writeAtomic(config, before));
      const target = join(m.dir, String(version));
      // rename() onto an existing, non-empty folder fails: a version that appeared meanwhile
      // is not replaced.
      writingTo(target, () => renameSync(m.temp, target));
      undo.push(() => rmSync(target, { recursive: true, force: true }));
    }
  } catch (err) {
    for (const step of undo.reverse()) {
      try {
        step();
      } catch {
        // Undo what can be undone; the first error is the one to report.
      }
    }
    throw err;
  }
}
