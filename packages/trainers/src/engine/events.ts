import type { FitBatchEnd } from './fit.js';

/** Events {@link train} reports while it works, for progress bars and logs. */
export type TrainEvent =
  | {
      readonly type: 'start';
      readonly backend: string;
      readonly detail: string;
      readonly trainCount: number;
      readonly validationCount: number;
      readonly batchesPerEpoch: number;
      readonly startEpoch: number;
      readonly epochs: number;
    }
  | { readonly type: 'epoch-start'; readonly epoch: number; readonly epochs: number }
  | {
      /** A training in phases (e.g. greedy layer-wise) starts phase `phase` of `phases`. */
      readonly type: 'phase';
      readonly phase: number;
      readonly phases: number;
      readonly name: string;
    }
  | ({ readonly type: 'batch' } & FitBatchEnd)
  | {
      readonly type: 'epoch-end';
      readonly epoch: number;
      readonly epochs: number;
      readonly loss: number;
      /** Mean of each named loss term over the epoch (e.g. reconstruction, sparsity). */
      readonly terms: Readonly<Record<string, number>>;
      readonly valLoss: number | undefined;
      readonly seconds: number;
      readonly samplesPerSecond: number;
      readonly improved: boolean;
    }
  | {
      /**
       * Something the user should know that is not an error, reported before `start`: how
       * the data was read (a CSV header taken or not, a limit above the sample count).
       */
      readonly type: 'notice';
      readonly message: string;
    }
  | { readonly type: 'early-stop'; readonly epoch: number; readonly bestValLoss: number }
  | { readonly type: 'figures'; readonly paths: readonly string[] }
  | { readonly type: 'done'; readonly run: string; readonly epochsCompleted: number };

/** Receives {@link TrainEvent}s. */
export type TrainListener = (event: TrainEvent) => void;
