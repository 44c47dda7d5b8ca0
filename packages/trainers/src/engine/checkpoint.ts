import { createHash } from 'node:crypto';
import { aekitError } from '@aekit/core';
import type { RunDirectory } from '@aekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { setWeightsChecked } from '../model/io.js';
import type { FitRestore, SavedTensor } from './fit.js';

/** Version 2 starts with the sha256 of everything after it; version 1 had no checksum. */
const MAGIC = 'AEKITCKPT2';
const MAGIC_V1 = 'AEKITCKPT1';
const SHA_BYTES = 32;

/** Training state beside the weights. */
export interface CheckpointState {
  /** Last completed epoch (1-based). */
  readonly epoch: number;
  readonly bestValLoss: number | null;
  readonly epochsWithoutImprovement: number;
}

/** One tensor of a checkpoint: its group (network or optimiser), name and shape. */
export interface TensorEntry {
  readonly group: string;
  readonly name: string;
  readonly shape: number[];
}

/** A checkpoint's JSON header. */
export interface Header {
  readonly state: CheckpointState;
  readonly tensors: TensorEntry[];
}

/**
 * Writes the last good epoch to checkpoints/last.ckpt: one file (magic, sha256 of the rest,
 * JSON header length, JSON header, float32 values) written atomically, so a crash mid-write keeps the previous
 * checkpoint intact.
 */
export async function writeCheckpoint(
  run: RunDirectory,
  state: CheckpointState,
  networks: Readonly<Record<string, LayersModel>>,
  optimizers: Readonly<Record<string, tf.Optimizer>>,
): Promise<void> {
  const entries: TensorEntry[] = [];
  const values: Float32Array[] = [];
  for (const [group, model] of Object.entries(networks)) {
    for (const w of model.weights) {
      entries.push({ group, name: w.originalName, shape: w.shape.map((d) => d ?? 1) });
      values.push((await w.read().data()) as Float32Array);
    }
  }
  for (const [group, optimizer] of Object.entries(optimizers)) {
    for (const { name, tensor } of await optimizer.getWeights()) {
      entries.push({ group, name, shape: [...tensor.shape] });
      values.push(Float32Array.from(await tensor.data()));
      // getWeights returns the optimiser's own variables plus a fresh iteration-count tensor.
      if (!(tensor instanceof tf.Variable)) tensor.dispose();
    }
  }
  const header = new TextEncoder().encode(
    JSON.stringify({ state, tensors: entries } satisfies Header),
  );
  const total = values.reduce((n, v) => n + v.length, 0);
  const bodyStart = MAGIC.length + SHA_BYTES;
  const out = new Uint8Array(bodyStart + 4 + header.length + total * 4);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(bodyStart, header.length, true);
  out.set(header, bodyStart + 4);
  const body = new Float32Array(total);
  let offset = 0;
  for (const v of values) {
    body.set(v, offset);
    offset += v.length;
  }
  out.set(new Uint8Array(body.buffer), bodyStart + 4 + header.length);
  out.set(createHash('sha256').update(out.subarray(bodyStart)).digest(), MAGIC.length);
  run.writeFile('checkpoints/last.ckpt', out);
}

/** A checkpoint file's parts: its header (state and tensor list) and its float32 values. */
export interface ParsedCheckpoint {
  readonly header: Header;
  readonly body: Float32Array;
}

/**
 * Parses the bytes of a checkpoint file (`path` names it in errors): checks its sha256
 * (version 2), its header and that the values are as many as the header describes. A file
 * that is not a checkpoint fails with `CheckpointMismatch`, a damaged one with `CorruptRunFile`.
 */
export function parseCheckpoint(bytes: Buffer, path: string): ParsedCheckpoint {
  const corrupt = (reason: string) => aekitError('CorruptRunFile', path, reason);
  const magic = bytes.subarray(0, MAGIC.length).toString('latin1');
  if (magic !== MAGIC && magic !== MAGIC_V1) {
    throw aekitError('CheckpointMismatch', `${path} is not an aekit checkpoint.`);
  }
  let headerStart = MAGIC.length;
  if (magic === MAGIC) {
    headerStart += SHA_BYTES;
    if (bytes.length < headerStart + 4) throw corrupt('it is cut short.');
    const recorded = bytes.subarray(MAGIC.length, headerStart);
    const actual = createHash('sha256').update(bytes.subarray(headerStart)).digest();
    if (!actual.equals(recorded)) {
      throw corrupt('its checksum does not match its contents (cut short or changed).');
    }
  }
  if (bytes.length < headerStart + 4) throw corrupt('it is cut short.');
  const headerLength = bytes.readUInt32LE(headerStart);
  const jsonStart = headerStart + 4;
  if (bytes.length < jsonStart + headerLength) throw corrupt('its header is cut short.');
  let header: unknown;
  try {
    header = JSON.parse(bytes.subarray(jsonStart, jsonStart + headerLength).toString('utf8'));
  } catch (err) {
    throw corrupt(`its header is not valid JSON (${(err as Error).message}).`);
  }
  if (!isHeader(header)) throw corrupt('its header does not describe a checkpoint.');
  const bodyStart = jsonStart + headerLength;
  const floats = header.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  if (!Number.isSafeInteger(floats)) throw corrupt('its header describes too many values.');
  if (bytes.length - bodyStart !== floats * 4) {
    throw corrupt(
      `it holds ${bytes.length - bodyStart} bytes of values; its header describes ${floats * 4}.`,
    );
  }
  const body = new Float32Array(
    bytes.buffer.slice(bytes.byteOffset + bodyStart, bytes.byteOffset + bytes.length),
  );
  return { header, body };
}

/**
 * Restores the networks' weights from checkpoints/last.ckpt and returns the rest of what
 * it holds, to go on training with `fit`: the state of its epoch and its optimisers'
 * weights (every group that is not a network: `optimizer`, `optimizer:STEP`). The networks
 * must have been built with the same options.
 */
export async function restoreCheckpoint(
  run: RunDirectory,
  networks: Readonly<Record<string, LayersModel>>,
): Promise<FitRestore> {
  let bytes: Buffer;
  try {
    // The checkpoint checks itself: it may be newer than the manifest's record of it (a run
    // stopped between writing the two).
    bytes = run.readFile('checkpoints/last.ckpt', { verify: false });
  } catch {
    throw aekitError('NothingToResume', run.root);
  }
  const { header, body } = parseCheckpoint(bytes, run.checkpointPath);
  let offset = 0;
  const groups = new Map<string, { entry: TensorEntry; values: Float32Array }[]>();
  for (const entry of header.tensors) {
    const size = entry.shape.reduce((a, b) => a * b, 1);
    const values = body.subarray(offset, offset + size);
    offset += size;
    groups.set(entry.group, [...(groups.get(entry.group) ?? []), { entry, values }]);
  }
  for (const [group, model] of Object.entries(networks)) {
    const saved = groups.get(group);
    if (!saved)
      throw aekitError(
        'CheckpointMismatch',
        `${run.checkpointPath} has no weights for network "${group}".`,
      );
    const tensors = saved.map(({ entry, values }) => tf.tensor(values, entry.shape));
    try {
      setWeightsChecked(model, tensors, run.checkpointPath);
    } finally {
      tf.dispose(tensors);
    }
  }
  const optimizers: Record<string, SavedTensor[]> = {};
  for (const [group, saved] of groups) {
    if (group in networks) continue;
    optimizers[group] = saved.map(({ entry, values }) => ({
      name: entry.name,
      shape: entry.shape,
      values,
    }));
  }
  const { epoch, bestValLoss, epochsWithoutImprovement } = header.state;
  return { epoch, bestValLoss, epochsWithoutImprovement, optimizers };
}

/**
 * Restores network and optimizer weights from checkpoints/last.ckpt and returns the saved
 * state. The networks must have been built with the same options. `optimizers` are named
 * by checkpoint group (`optimizer` for a run's one optimiser); one with no state saved (a
 * run stopped before its first step) starts fresh.
 */
export async function readCheckpoint(
  run: RunDirectory,
  networks: Readonly<Record<string, LayersModel>>,
  optimizers: Readonly<Record<string, tf.Optimizer>>,
): Promise<CheckpointState> {
  const restored = await restoreCheckpoint(run, networks);
  for (const [group, optimizer] of Object.entries(optimizers)) {
    const saved = restored.optimizers?.[group];
    if (!saved) continue;
    const weights = saved.map((w) => ({ name: w.name, tensor: tf.tensor(w.values, [...w.shape]) }));
    try {
      await optimizer.setWeights(weights);
    } finally {
      tf.dispose(weights.map((w) => w.tensor));
    }
  }
  const { epoch, bestValLoss, epochsWithoutImprovement } = restored;
  return { epoch, bestValLoss, epochsWithoutImprovement };
}

const isCount = (v: unknown, min: number): v is number =>
  Number.isSafeInteger(v) && (v as number) >= min;

/**
 * Whether a checkpoint's parsed header is one `writeCheckpoint` could have written: a state of
 * a completed epoch, and tensors whose shapes are non-negative integers.
 */
function isHeader(value: unknown): value is Header {
  const { state, tensors } = (value ?? {}) as {
    state?: Record<string, unknown>;
    tensors?: unknown;
  };
  return (
    typeof state === 'object' &&
    state !== null &&
    isCount(state.epoch, 1) &&
    (state.bestValLoss === null || Number.isFinite(state.bestValLoss)) &&
    isCount(state.epochsWithoutImprovement, 0) &&
    Array.isArray(tensors) &&
    tensors.every(
      (t: { group?: unknown; name?: unknown; shape?: unknown } | null) =>
        typeof t?.group === 'string' &&
        typeof t.name === 'string' &&
        Array.isArray(t.shape) &&
        t.shape.every((d) => isCount(d, 0)),
    )
  );
}
