import { aekitError } from '@aekit/core';
import type { RunDirectory } from '@aekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { setWeightsChecked } from './model-io.js';

const MAGIC = 'AEKITCKPT1';

/** Training state beside the weights. */
export interface CheckpointState {
  /** Last completed epoch (1-based). */
  readonly epoch: number;
  readonly bestValLoss: number | null;
  readonly epochsWithoutImprovement: number;
}

interface TensorEntry {
  readonly group: string;
  readonly name: string;
  readonly shape: number[];
}

interface Header {
  readonly state: CheckpointState;
  readonly tensors: TensorEntry[];
}

/**
 * Writes the last good epoch to checkpoints/last.ckpt: one file (magic, JSON header length,
 * JSON header, float32 values) written atomically, so a crash mid-write keeps the previous
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
  const out = new Uint8Array(MAGIC.length + 4 + header.length + total * 4);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, header.length, true);
  out.set(header, MAGIC.length + 4);
  const body = new Float32Array(total);
  let offset = 0;
  for (const v of values) {
    body.set(v, offset);
    offset += v.length;
  }
  out.set(new Uint8Array(body.buffer), MAGIC.length + 4 + header.length);
  run.writeFile('checkpoints/last.ckpt', out);
}

/**
 * Restores network and optimizer weights from checkpoints/last.ckpt and returns the saved
 * state. The networks must have been built with the same options. `optimizers` are named
 * by checkpoint group (`optimizer` for a run's one optimiser).
 */
export async function readCheckpoint(
  run: RunDirectory,
  networks: Readonly<Record<string, LayersModel>>,
  optimizers: Readonly<Record<string, tf.Optimizer>>,
): Promise<CheckpointState> {
  let bytes: Buffer;
  try {
    bytes = run.readFile('checkpoints/last.ckpt');
  } catch {
    throw aekitError('NothingToResume', run.root);
  }
  if (bytes.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) {
    throw aekitError('CheckpointMismatch', `${run.checkpointPath} is not an aekit checkpoint.`);
  }
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  const headerStart = MAGIC.length + 4;
  const header = JSON.parse(
    bytes.subarray(headerStart, headerStart + headerLength).toString('utf8'),
  ) as Header;
  const bodyStart = headerStart + headerLength;
  const body = new Float32Array(
    bytes.buffer.slice(bytes.byteOffset + bodyStart, bytes.byteOffset + bytes.length),
  );
  let offset = 0;
  const groups = new Map<string, tf.Tensor[]>();
  const named = new Map<string, { name: string; tensor: tf.Tensor }[]>();
  for (const entry of header.tensors) {
    const size = entry.shape.reduce((a, b) => a * b, 1);
    const tensor = tf.tensor(body.subarray(offset, offset + size), entry.shape);
    offset += size;
    if (entry.group in optimizers) {
      named.set(entry.group, [...(named.get(entry.group) ?? []), { name: entry.name, tensor }]);
    } else groups.set(entry.group, [...(groups.get(entry.group) ?? []), tensor]);
  }
  try {
    for (const [group, model] of Object.entries(networks)) {
      const tensors = groups.get(group);
      if (!tensors)
        throw aekitError(
          'CheckpointMismatch',
          `${run.checkpointPath} has no weights for network "${group}".`,
        );
      setWeightsChecked(model, tensors, run.checkpointPath);
    }
    // An optimiser with no state saved (a run stopped before its first step) starts fresh.
    for (const [group, optimizer] of Object.entries(optimizers)) {
      const weights = named.get(group);
      if (weights) await optimizer.setWeights(weights);
    }
  } finally {
    for (const tensors of groups.values()) tf.dispose(tensors);
    for (const weights of named.values()) tf.dispose(weights.map((n) => n.tensor));
  }
  return header.state;
}
