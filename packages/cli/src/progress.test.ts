import type { TrainEvent } from '@aekit/trainers';
import { describe, expect, it } from 'vitest';
import type { Output } from './output.js';
import { barValues, epochEta, epochLine, progressReporter } from './progress.js';

/** An output that keeps what was written. */
function memoryOutput(): Output & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    out: (t) => lines.push(`out: ${t}`),
    err: (t) => lines.push(t),
    interactive: false,
  };
}

const epochEnd = (
  epoch: number,
  improved: boolean,
): Extract<TrainEvent, { type: 'epoch-end' }> => ({
  type: 'epoch-end',
  epoch,
  epochs: 2,
  loss: 0.061163,
  terms: { reconstruction: 0.05, sparsity: 0.0111 },
  valLoss: 0.0335,
  seconds: 3.44,
  samplesPerSecond: 1234.6,
  improved,
});

describe('progressReporter', () => {
  it('prints a notice to stderr on a line of its own', () => {
    const output = memoryOutput();
    const report = progressReporter(output);
    report({ type: 'notice', message: '"x.csv": first row taken as a header (a, b).' });
    expect(output.lines).toEqual(['note: "x.csv": first row taken as a header (a, b).']);
  });

  it('prints every number of an epoch line in the one format, and explains * once', () => {
    const output = memoryOutput();
    const report = progressReporter(output);
    report(epochEnd(1, true));
    report(epochEnd(2, true));
    expect(output.lines).toEqual([
      'epoch 1/2  loss 0.06116  reconstruction 0.05000  sparsity 0.01110  val_loss 0.03350 *  3.4s  1235 samples/s',
      '(*: the best val_loss so far, improved by more than --min-delta)',
      'epoch 2/2  loss 0.06116  reconstruction 0.05000  sparsity 0.01110  val_loss 0.03350 *  3.4s  1235 samples/s',
    ]);
    expect(epochLine(epochEnd(1, false))).not.toContain('*');
  });
});

describe('the progress bar', () => {
  const batch = (
    n: number,
    loss: number,
    meanLoss: number,
  ): Extract<TrainEvent, { type: 'batch' }> => ({
    type: 'batch',
    epoch: 1,
    batch: n,
    batches: 100,
    samples: n * 32,
    loss,
    meanLoss,
    samplesPerSecond: 640.4,
  });

  it("shows the epoch's running mean loss, not the last batch's", () => {
    expect(barValues(batch(10, 0.9, 0.25), 0.5).loss).toBe('0.2500');
  });

  it("estimates the time left at the epoch's mean rate, steady through a slow batch", () => {
    // 10 batches in 5 s: 90 left at 0.5 s each.
    expect(epochEta(5, 10, 100)).toBe(45);
    // One batch then takes 3 s: the mean rate moves the estimate by a few seconds, not 6x.
    expect(epochEta(8, 11, 100)).toBeCloseTo(64.7, 1);
    expect(barValues(batch(10, 0.9, 0.25), 5).left).toBe('45s');
    expect(Number.isNaN(epochEta(0, 0, 100))).toBe(true);
  });
});
