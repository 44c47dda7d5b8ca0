import { isAekitError } from '@aekit/core';

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

/** A number with `digits` significant digits. */
export const fmt = (v: number, digits = 4): string =>
  Number.isFinite(v) ? Number(v.toPrecision(digits)).toString() : String(v);
