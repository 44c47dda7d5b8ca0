import { aekitError, type EpochMetrics, isAekitError, type RunManifest } from '@aekit/core';
import type { RunDirectory } from '@aekit/core/node';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { networkDir, saveNetwork } from '../model/io.js';
import { restoreCheckpoint, writeCheckpoint } from './checkpoint.js';
import {
  type FitCallbacks,
  type FitEpoch,
  type FitModel,
  type FitOptions,
  type FitRestore,
  type FitResult,
  fit,
} from './fit.js';

/** One line of metrics.jsonl: an epoch's numbers, the run's own beside these. */
export interface RunEpochLine {
  readonly epoch: number;
  readonly loss: number;
  readonly valLoss?: number;
}

/** How {@link fitInRun} trains and what it writes beyond the run's common files. */
export interface RunFitHooks<L extends RunEpochLine> {
  /** The command that continues the run, named by `TrainingInterrupted` (`aekit train`). */
  readonly command?: string;
  /** Progress callbacks passed to `fit` (an epoch's end is the run's own). */
  readonly callbacks?: Omit<FitCallbacks, 'onEpochEnd'>;
  /** After the restore and before the first epoch: where training starts. */
  started?(from: FitRestore | undefined): void;
  /** The metrics.jsonl line of an epoch. */
  line(epoch: FitEpoch): L | Promise<L>;
  /** After an epoch's line, checkpoint and manifest are on disk. */
  saved?(line: L, epoch: FitEpoch): void;
  /**
   * After the weights are saved and before the run is marked done: what else the run
   * promises (figures, a test score in `manifest.metrics`). A failure here marks it failed.
   */
  finish?(result: FitResult, lines: readonly L[]): Promise<void>;
}

/** What {@link fitInRun} returns. */
export interface RunFitResult<L> {
  readonly result: FitResult;
  readonly lines: readonly L[];
}

/**
 * Trains `model` with {@link fit} inside run directory `run`, whose `manifest` the caller
 * built (new, or a resumed run's with its history): resuming is one step, the networks'
 * weights and `fit`'s state from `checkpoints/last.ckpt`. Every epoch writes its
 * metrics.jsonl line, the checkpoint, then the manifest; `options.signal` stops the run
 * after the current batch with `TrainingInterrupted` (the last checkpoint stays, the run is
 * marked `interrupted`); any other failure marks it `failed`. At the end the networks are
 * saved, `manifest.metrics` written, `hooks.finish` run, and only then is the run
 * `completed` (or `stopped-early`). The caller disposes the networks.
 */
export async function fitInRun<L extends RunEpochLine>(
  run: RunDirectory,
  manifest: RunManifest,
  model: FitModel & { readonly networks: Readonly<Record<string, LayersModel>> },
  resume: boolean,
  options: Omit<FitOptions, 'from' | 'callbacks'>,
  hooks: RunFitHooks<L>,
): Promise<RunFitResult<L>> {
  let started = false;
  try {
    const from = resume ? await restoreCheckpoint(run, model.networks) : undefined;
    const lines = from
      ? (run.readMetrics() as RunEpochLine[] as L[]).filter((m) => m.epoch <= from.epoch)
      : [];
    manifest.epochsCompleted = from?.epoch ?? 0;
    manifest.status = 'running';
    run.writeManifest(manifest);
    started = true;
    hooks.started?.(from);
    const result = await fit(model, {
      ...options,
      ...(from ? { from } : {}),
      callbacks: {
        ...hooks.callbacks,
        onEpochEnd: async (e) => {
          const line = await hooks.line(e);
          lines.push(line);
          run.writeMetrics(lines as readonly RunEpochLine[] as EpochMetrics[]);
          await writeCheckpoint(run, e.state, model.networks, e.optimizers);
          manifest.epochsCompleted = e.epoch;
          manifest.updatedAt = new Date().toISOString();
          run.writeManifest(manifest);
          hooks.saved?.(line, e);
        },
      },
    });
    // Stopping mid-epoch loses only that epoch: the last checkpoint stays as it was.
    if (result.status === 'aborted') {
      throw aekitError('TrainingInterrupted', run.root, manifest.epochsCompleted, hooks.command);
    }
    for (const [name, net] of Object.entries(model.networks)) {
      await saveNetwork(run, networkDir(name), net);
    }
    const last = lines.at(-1);
    const best = result.state.bestValLoss;
    manifest.metrics = {
      ...(last ? { loss: last.loss } : {}),
      ...(last?.valLoss !== undefined ? { valLoss: last.valLoss } : {}),
      ...(best !== null ? { bestValLoss: best } : {}),
    };
    manifest.updatedAt = new Date().toISOString();
    run.writeManifest(manifest);
    await hooks.finish?.(result, lines);
    // Done only once everything the run promises is on disk.
    manifest.status = result.status === 'stopped-early' ? 'stopped-early' : 'completed';
    manifest.updatedAt = new Date().toISOString();
    run.writeManifest(manifest);
    return { result, lines };
  } catch (err) {
    if (started) {
      manifest.status = isAekitError(err, 'TrainingInterrupted') ? 'interrupted' : 'failed';
      manifest.updatedAt = new Date().toISOString();
      run.writeManifest(manifest);
    }
    throw err;
  }
}
