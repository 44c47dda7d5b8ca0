import type { Output } from './output.js';

/**
 * Runs `work` with a signal that Ctrl-C aborts: the training stops after the current batch
 * (the last checkpoint is intact), and a second Ctrl-C quits at once.
 */
export async function stoppableByCtrlC<T>(
  output: Output,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const onInterrupt = () => {
    controller.abort();
    output.err('Stopping… (press Ctrl-C again to quit at once)');
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onInterrupt);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
