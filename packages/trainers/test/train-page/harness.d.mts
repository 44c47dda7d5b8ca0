import type { TrainReport, TrainSettings } from './main.js';

/** Where Debian's Chromium is (`CHROMIUM_PATH` overrides it). */
export const CHROMIUM_PATH: string;

/** The training page, served and open in Chromium. */
export interface TrainPage {
  /** Loads the page afresh (with the fast kernels or not) and trains once. */
  train(fast: boolean, settings: TrainSettings): Promise<TrainReport>;
  /** The page's console messages and errors so far. */
  readonly logs: string[];
  /** Closes Chromium and the server, and deletes the built page. */
  close(): Promise<void>;
}

/** Builds and serves the page with the first `samples` MNIST training digits; starts Chromium. */
export function openTrainPage(samples: number): Promise<TrainPage>;
