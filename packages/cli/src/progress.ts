import type { TrainEvent } from '@aekit/trainers';
import cliProgress from 'cli-progress';
import { duration, fmt, type Output, plural } from './output.js';

/** What marks an epoch whose validation loss is the best so far, and what it means. */
export const BEST_MARK = '*';
const LEGEND = `(${BEST_MARK}: the best val_loss so far, improved by more than --min-delta)`;

/**
 * Seconds left in an epoch at the epoch's mean rate so far: steadier than the rate of the
 * last few batches, which jumps with every pause (a validation pass, a read from the device).
 */
export function epochEta(elapsedSeconds: number, batch: number, batches: number): number {
  return batch > 0 ? (elapsedSeconds / batch) * (batches - batch) : Number.NaN;
}

/**
 * The values the bar shows after a batch: the epoch's running mean loss, samples/s and the
 * time left, `elapsedSeconds` into the epoch (`left`: cli-progress keeps `eta` for its own).
 */
export function barValues(
  event: Extract<TrainEvent, { type: 'batch' }>,
  elapsedSeconds: number,
): { loss: string; speed: string; left: string } {
  const mean = event.meanLoss ?? event.loss;
  return {
    loss: mean === undefined ? '…' : fmt(mean),
    speed: fmt(event.samplesPerSecond, 3),
    left: duration(epochEta(elapsedSeconds, event.batch, event.batches)),
  };
}

/** The line printed after each epoch: its mean loss and terms, val_loss, time and rate. */
export function epochLine(event: Extract<TrainEvent, { type: 'epoch-end' }>): string {
  const terms = Object.entries(event.terms)
    .map(([name, value]) => `  ${name} ${fmt(value)}`)
    .join('');
  const val =
    event.valLoss !== undefined
      ? `  val_loss ${fmt(event.valLoss)}${event.improved ? ` ${BEST_MARK}` : ''}`
      : '';
  return `epoch ${event.epoch}/${event.epochs}  loss ${fmt(event.loss)}${terms}${val}  ${duration(event.seconds)}  ${fmt(event.samplesPerSecond, 3)} samples/s`;
}

/**
 * Shows training progress: on a terminal, a bar per epoch with the epoch's running mean
 * loss (the loss its epoch line then prints), samples/s and the time left at the epoch's
 * mean rate; everywhere (logs and CI too), one line per epoch.
 */
export function progressReporter(
  output: Output,
  now: () => number = () => performance.now(),
): (event: TrainEvent) => void {
  let bar: cliProgress.SingleBar | undefined;
  let epochStarted = 0;
  let legendShown = false;
  return (event) => {
    switch (event.type) {
      case 'start':
        output.err(
          `Training on ${event.backend} (${event.detail}): ${event.trainCount} training / ${event.validationCount} validation samples, ${plural(event.batchesPerEpoch, 'batch', 'batches')} per epoch${event.startEpoch > 1 ? `, resuming at epoch ${event.startEpoch}` : ''}.`,
        );
        break;
      case 'epoch-start':
        epochStarted = now();
        if (output.interactive) {
          bar = new cliProgress.SingleBar(
            {
              format: `epoch ${event.epoch}/${event.epochs} [{bar}] {value}/{total} | loss {loss} | {speed} samples/s | eta {left}`,
              hideCursor: true,
              clearOnComplete: true,
              stream: process.stderr,
            },
            cliProgress.Presets.shades_classic,
          );
        }
        break;
      case 'batch':
        if (bar) {
          if (event.batch === 1) bar.start(event.batches, 0, { loss: '…', speed: '…', left: '…' });
          bar.update(event.batch, barValues(event, (now() - epochStarted) / 1000));
        }
        break;
      case 'epoch-end':
        bar?.stop();
        bar = undefined;
        output.err(epochLine(event));
        if (event.improved && event.valLoss !== undefined && !legendShown) {
          legendShown = true;
          output.err(LEGEND);
        }
        break;
      case 'notice':
        bar?.stop();
        bar = undefined;
        output.err(`note: ${event.message}`);
        break;
      case 'phase':
        output.err(`Phase ${event.phase}/${event.phases}: ${event.name}`);
        break;
      case 'early-stop':
        output.err(
          `Stopped early after epoch ${event.epoch}: no validation improvement (best ${fmt(event.bestValLoss)}).`,
        );
        break;
      case 'figures':
      case 'done':
        break;
    }
  };
}
