/**
 * The model table: what the server serves, by name. A {@link ModelSource} turns something
 * on disk into {@link ServedModel}s: `runDirectory` is the source of an exported run (its
 * `onnx/` folder), `modelRepository` of a Triton-layout model repository; `modelSource`
 * picks one for a path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import {
  applyNormalization,
  checkInputScale,
  IDENTITY,
  type Normalization,
  undoNormalization,
} from '@aekit/core';
import { aekitError } from '@aekit/core/errors';
import {
  EXPORTED_MODEL_FILE,
  type ExportedModel,
  parseExportedModelText,
  TENSOR_NAMES,
} from '@aekit/core/model';
import { isModelRepository, readModelRepository } from '@aekit/core/repository';
import {
  type Autoencoder,
  type HashIndex,
  type LoadOptions,
  loadAutoencoder,
  type NearestOptions,
  type Neighbours,
  unpackBits,
} from '@aekit/runtime-web';
import { type Float32Tensor, FP32, type MetadataTensor } from './protocol.js';

/** The graphs of an exported run, each served as a model `<name>-<role>`. */
export const ROLES = Object.freeze(['encoder', 'decoder', 'autoencoder', 'classifier'] as const);

/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number];

/** What `POST /v2/models/{name}/sample` asks for. */
export interface SampleRequest {
  readonly n: number;
  readonly seed?: number;
  readonly temperature?: number;
  readonly steps?: number;
}

/** What a served model generates: named float32 tensors, raw scale, and the seed used. */
export interface SampleResponse {
  readonly outputs: Readonly<Record<string, Float32Tensor>>;
  readonly seed: number;
}

/**
 * aekit's description of a served model (`GET /v2/models/{name}/aekit`): the run's
 * `aekit.json` as the server applies it (`normalization` is `none`: tensors are raw;
 * `foldedNormalization` is the training normalisation the server or the graph applies),
 * with the graph's role and the name of the autoencoder it belongs to. The protocol's
 * metadata has no word for capabilities, samplers or class labels; clients read them here.
 */
export interface ServedDescription extends Omit<ExportedModel, 'graphs' | 'check'> {
  /** The graph's role: `encoder`, `decoder`, `autoencoder` or `classifier`. */
  readonly role: Role;
  /** The autoencoder's name: the models are `<autoencoder>-<role>`. */
  readonly autoencoder: string;
}

/** A model the server answers for. */
export interface ServedModel {
  /** Its name in URLs, e.g. `digits-encoder`. */
  readonly name: string;
  /** Its versions; the first is the one `/v2/models/{name}` means. */
  readonly versions: readonly string[];
  /** The protocol's `platform`: `onnxruntime_onnx`. */
  readonly platform: string;
  /** Inputs and outputs, shapes with `-1` for the batch axis. */
  readonly inputs: readonly MetadataTensor[];
  readonly outputs: readonly MetadataTensor[];
  /** aekit's description of it. */
  readonly aekit: ServedDescription;
  /** Values in one sample of all inputs together (sizes the request body limit). */
  readonly valuesPerSample: number;
  /**
   * Runs a batch: `inputs` on the protocol's (raw) scale, `[n, ...]` each; answers the
   * `outputs` asked for, `[n, ...]`, on the raw scale.
   */
  run(
    inputs: Readonly<Record<string, Float32Tensor>>,
    outputs: readonly string[],
  ): Promise<Record<string, Float32Tensor>>;
  /**
   * Refuses a request whose samples contradict the training normalisation, e.g. MNIST pixels
   * in [0, 1] for a model that divides 0..255 by 255 (they would be normalised twice); run
   * on each request before it joins a batch, so that one client's mistake fails only its own.
   *
   * @throws AekitError `InputScaleMismatch` (answered 400).
   */
  readonly checkInputs?: (inputs: Readonly<Record<string, Float32Tensor>>) => void;
  /** aekit's `sample`, where the model declares it (decoder models of runs that can). */
  readonly sample?: (request: SampleRequest) => Promise<SampleResponse>;
  /**
   * aekit's `nearest`, for encoders of runs that hash: the neighbours in `index` of each
   * sample's code (samples raw, as `run` takes them).
   */
  readonly nearest?: (
    inputs: Readonly<Record<string, Float32Tensor>>,
    index: HashIndex,
    options: NearestOptions,
  ) => Promise<Neighbours[]>;
}

/** What a model source gives: its models, and how to release them. */
export interface LoadedModels {
  readonly models: readonly ServedModel[];
  /** What the source passed over and why, for the operator (e.g. a model with no aekit.json). */
  readonly skipped?: readonly string[];
  close(): Promise<void>;
}

/** Something the server loads models from. */
export interface ModelSource {
  /** For messages: where the models come from. */
  readonly description: string;
  /** Opens the models (ONNX Runtime sessions). */
  load(options: LoadOptions): Promise<LoadedModels>;
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Normalises raw samples as in training (a copy), as `aekit encode` does. */
function normalize(x: Float32Tensor, n: Normalization): Float32Tensor {
  if (n.kind === 'none') return x;
  const features = sizeOf(x.shape.slice(1));
  const data = applyNormalization(new Float32Array(x.data), features, n);
  return { data, shape: x.shape };
}

/** Undoes the normalisation: samples back on the raw scale. */
function denormalize(x: Float32Tensor, n: Normalization): Float32Tensor {
  if (n.kind === 'none') return x;
  return { data: undoNormalization(x.data, sizeOf(x.shape.slice(1)), n), shape: x.shape };
}

const tensor = (name: string, sample: readonly number[]): MetadataTensor => ({
  name,
  datatype: FP32,
  shape: [-1, ...sample],
});

/** Options of {@link runDirectory}. */
export interface RunDirectoryOptions {
  /** The prefix of its model names (default: the folder's base name). */
  readonly name?: string;
}

/**
 * An exported run directory (`aekit export RUN`: `RUN/onnx/aekit.json` and the graphs), as
 * the models `<name>-encoder`, `<name>-decoder`, `<name>-autoencoder` (when the run has
 * `autoencoder.onnx`) and `<name>-classifier` (classifier runs), version `1`. Tensors are on
 * the training data's raw scale: the run's normalisation is applied to samples going in and
 * undone on samples coming out.
 */
export function runDirectory(dir: string, options: RunDirectoryOptions = {}): ModelSource {
  const path = resolve(dir);
  const name = options.name ?? basename(path);
  return {
    description: path,
    async load(loadOptions) {
      const folder = existsSync(join(path, 'onnx', 'aekit.json')) ? join(path, 'onnx') : path;
      if (!existsSync(join(folder, 'aekit.json'))) {
        throw aekitError(
          'ModelLoadFailed',
          path,
          'it has no onnx/aekit.json: run `aekit export` on it first.',
        );
      }
      const metadata = parseExportedModelText(
        readFileSync(join(folder, EXPORTED_MODEL_FILE), 'utf8'),
        folder,
      );
      const ae = await loadAutoencoder(folder, loadOptions);
      return served(ae, {
        name,
        version: '1',
        metadata,
        autoencoder: existsSync(join(folder, 'autoencoder.onnx')),
      });
    },
  };
}

/**
 * A Triton-layout model repository written by `aekit export RUN --repository DIR`: each
 * run's graphs (`NAME-encoder`, `NAME-decoder` ...) at their latest version that has both
 * encoder and decoder, as Triton's default version policy serves the latest. Its graphs
 * take and give raw values already. Model folders without aekit's description are passed
 * over, and said so in `skipped`.
 */
export function modelRepository(dir: string): ModelSource {
  const path = resolve(dir);
  return {
    description: path,
    async load(loadOptions) {
      const contents = readModelRepository(path);
      if (contents.autoencoders.length === 0) {
        throw aekitError(
          'ModelLoadFailed',
          path,
          `the repository has no model aekit exported (${contents.skipped.join('; ')}).`,
        );
      }
      const parts: LoadedModels[] = [];
      try {
        for (const member of contents.autoencoders) {
          const encoder = member.graphs.encoder!;
          const ae = await loadAutoencoder(encoder.dir, loadOptions);
          parts.push(
            await served(ae, {
              name: member.name,
              version: String(member.version),
              metadata: encoder.metadata,
              autoencoder: member.graphs.autoencoder !== undefined,
            }),
          );
        }
      } catch (err) {
        await Promise.allSettled(parts.map((p) => p.close()));
        throw err;
      }
      return {
        models: parts.flatMap((p) => p.models),
        skipped: contents.skipped,
        close: async () => {
          await Promise.all(parts.map((p) => p.close()));
        },
      };
    },
  };
}

/** The source of a path: a model repository, or else an exported run directory. */
export function modelSource(path: string, options: RunDirectoryOptions = {}): ModelSource {
  if (!isModelRepository(path)) return runDirectory(path, options);
  if (options.name !== undefined) {
    throw aekitError(
      'InvalidArgument',
      `${path} is a model repository, whose models have their names already; --name names the models of one run directory.`,
    );
  }
  return modelRepository(path);
}

interface Served {
  readonly name: string;
  readonly version: string;
  readonly metadata: ExportedModel;
  /** Whether the model has the whole-autoencoder graph. */
  readonly autoencoder: boolean;
}

/** The models of a loaded autoencoder; it is disposed when they cannot be made. */
async function served(ae: Autoencoder, how: Served): Promise<LoadedModels> {
  try {
    const models = modelsOf(ae, how);
    return { models, close: () => ae.dispose() };
  } catch (err) {
    await ae.dispose();
    throw err;
  }
}

function modelsOf(ae: Autoencoder, how: Served): ServedModel[] {
  const { info } = ae;
  const { name, metadata } = how;
  const n = info.normalization ?? IDENTITY;
  // Requests are checked against the training normalisation, whether the server applies it
  // or the graphs do (a repository's, where `n` is the identity).
  const trained = metadata.foldedNormalization ?? n;
  const { graphs: _graphs, check: _check, ...description } = metadata;
  const aekit = (role: Role): ServedDescription => ({
    ...description,
    normalization: IDENTITY,
    foldedNormalization: metadata.foldedNormalization ?? n,
    ...(metadata.repository
      ? { repository: { model: `${name}-${role}`, version: metadata.repository.version } }
      : {}),
    role,
    autoencoder: name,
  });
  const base = { versions: [how.version], platform: 'onnxruntime_onnx' } as const;
  const inputSize = sizeOf(info.inputShape);
  const codingSize = sizeOf(info.codingShape);
  const input = info.inputName;
  const hashes = info.capabilities.includes('hash');
  const checkInputs = (inputs: Readonly<Record<string, Float32Tensor>>) =>
    checkInputScale(inputs[input]!.data, inputSize, trained, 'raw', "the request's input");
  const encoderOutputs = [
    tensor(info.codingName, info.codingShape),
    ...(info.logVarianceName ? [tensor(info.logVarianceName, info.codingShape)] : []),
    ...(hashes ? [tensor(TENSOR_NAMES.bits, info.codingShape)] : []),
  ];
  const models: ServedModel[] = [
    {
      ...base,
      name: `${name}-encoder`,
      aekit: aekit('encoder'),
      inputs: [tensor(input, info.inputShape)],
      outputs: encoderOutputs,
      valuesPerSample: inputSize,
      checkInputs,
      async run(inputs, outputs) {
        const x = normalize(inputs[input]!, n);
        const result: Record<string, Float32Tensor> = {};
        if (outputs.some((o) => o !== TENSOR_NAMES.bits)) {
          const encoded = await ae.encode(x);
          result[info.codingName] = encoded;
          if (info.logVarianceName && encoded.logVariance) {
            result[info.logVarianceName] = encoded.logVariance;
          }
        }
        if (outputs.includes(TENSOR_NAMES.bits)) {
          // The encoder's `bits` output, as `hash` reads it: one 0/1 value per coding.
          const codes = await ae.hash(x);
          const bits = new Float32Array(codes.count * codingSize);
          for (let i = 0; i < codes.count; i++) bits.set(unpackBits(codes, i), i * codingSize);
          result[TENSOR_NAMES.bits] = { data: bits, shape: [codes.count, ...info.codingShape] };
        }
        return result;
      },
      ...(hashes
        ? {
            nearest: (
              inputs: Readonly<Record<string, Float32Tensor>>,
              index: HashIndex,
              options: NearestOptions,
            ) => ae.nearest(normalize(inputs[input]!, n), index, options),
          }
        : {}),
    },
    {
      ...base,
      name: `${name}-decoder`,
      aekit: aekit('decoder'),
      inputs: [tensor(info.decoderInputName, info.codingShape)],
      outputs: [tensor(info.outputName, info.inputShape)],
      valuesPerSample: codingSize,
      async run(inputs) {
        const decoded = await ae.decode(inputs[info.decoderInputName]!);
        return { [info.outputName]: denormalize(decoded, n) };
      },
      ...(info.capabilities.includes('sample')
        ? {
            async sample(request: SampleRequest): Promise<SampleResponse> {
              const { n: count, ...options } = request;
              const result = await ae.sample(count, options);
              return {
                seed: result.seed,
                outputs: {
                  [info.outputName]: denormalize(result, n),
                  ...(result.codings ? { [info.codingName]: result.codings } : {}),
                },
              };
            },
          }
        : {}),
    },
  ];
  if (how.autoencoder) {
    models.push({
      ...base,
      name: `${name}-autoencoder`,
      aekit: aekit('autoencoder'),
      inputs: [tensor(input, info.inputShape)],
      outputs: [tensor(TENSOR_NAMES.reconstruction, info.inputShape)],
      valuesPerSample: inputSize,
      checkInputs,
      async run(inputs) {
        const out = await ae.reconstruct(normalize(inputs[input]!, n));
        return { [TENSOR_NAMES.reconstruction]: denormalize(out, n) };
      },
    });
  }
  if (info.capabilities.includes('classify')) {
    models.push({
      ...base,
      name: `${name}-classifier`,
      aekit: aekit('classifier'),
      inputs: [tensor(input, info.inputShape)],
      outputs: [{ name: TENSOR_NAMES.probabilities, datatype: FP32, shape: [-1, -1] }],
      valuesPerSample: inputSize,
      checkInputs,
      async run(inputs) {
        const { probabilities } = await ae.classify(normalize(inputs[input]!, n));
        return { [TENSOR_NAMES.probabilities]: probabilities };
      },
    });
  }
  return models;
}
