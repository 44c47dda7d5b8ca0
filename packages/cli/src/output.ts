import { formatNumber, isAekitError } from '@aekit/core';

/** Where the CLI writes; tests pass their own. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is an interactive terminal (progress bars are drawn only then). */
  readonly interactive: boolean;
}

/** The process's stdout and stderr. */
export const processOutput: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  interactive: Boolean(process.stderr.isTTY),
};

/**
 * Reports an error: an aekit error as title, message and hint (no stack: the user caused
 * it and can fix it); anything else as an internal error with its stack, to be reported.
 */
export function reportError(error: unknown, output: Output): number {
  if (isAekitError(error)) {
    output.err(`error [${error.code}]: ${error.title}\n${error.message}\nhint: ${error.hint}`);
    return 1;
  }
  const e = error as Error;
  output.err(
    `internal error: ${e?.stack ?? String(error)}\nThis is a bug in aekit; please report it with the command you ran.`,
  );
  return 70;
}

/**
 * A measured number, the one way the CLI prints them: `formatNumber` of `@aekit/core`
 * (`digits` significant digits, scientific only below 1e-4, counts plain).
 */
export const fmt = (v: number, digits = 4): string => formatNumber(v, digits);

/** A count with its noun, singular for 1: `plural(1, 'epoch')` is `1 epoch`. */
export const plural = (n: number, noun: string, nouns = `${noun}s`): string =>
  `${n} ${n === 1 ? noun : nouns}`;

/**
 * A duration: seconds with two significant digits under a minute (`0.52s`, `3.4s`, `25s`),
 * else minutes and seconds (`2m05s`).
 */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '…';
  if (seconds < 59.5) return `${fmt(seconds, 2)}s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
}
