import type { TrainEvent } from '@aekit/trainers';
import cliProgress from 'cli-progress';
import { fmt, type Output } from './output.js';

/**
 * Shows training progress: a bar per epoch with loss and samples/s on a terminal, and one
 * line per epoch everywhere (logs and CI too).
 */
export function progressReporter(output: Output): (event: TrainEvent) => void {
  let bar: cliProgress.SingleBar | undefined;
  return (event) => {
    switch (event.type) {
      case 'start':
        output.err(
          `Training on ${event.backend} (${event.detail}): ${event.trainCount} training / ${event.validationCount} validation samples, ${event.batchesPerEpoch} batches per epoch${event.startEpoch > 1 ? `, resuming at epoch ${event.startEpoch}` : ''}.`,
        );
        break;
      case 'epoch-start':
        if (output.interactive) {
          bar = new cliProgress.SingleBar(
            {
              format: `epoch ${event.epoch}/${event.epochs} [{bar}] {value}/{total} | loss {loss} | {speed} samples/s | eta {eta_formatted}`,
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
          if (event.batch === 1) bar.start(event.batches, 0, { loss: '…', speed: '…' });
          bar.update(event.batch, {
            loss: event.loss === undefined ? '…' : fmt(event.loss),
            speed: Math.round(event.samplesPerSecond),
          });
        }
        break;
      case 'epoch-end':
        bar?.stop();
        bar = undefined;
        output.err(
          `epoch ${event.epoch}/${event.epochs}  loss ${fmt(event.loss)}${Object.entries(
            event.terms,
          )
            .map(([name, value]) => `  ${name} ${fmt(value)}`)
            .join(
              '',
            )}${event.valLoss !== undefined ? `  val_loss ${fmt(event.valLoss)}${event.improved ? ' *' : ''}` : ''}  ${event.seconds.toFixed(1)}s  ${Math.round(event.samplesPerSecond)} samples/s`,
        );
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
