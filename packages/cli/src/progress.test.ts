import { describe, expect, it } from 'vitest';
import type { Output } from './output.js';
import { progressReporter } from './progress.js';

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

describe('progressReporter', () => {
  it('prints a notice to stderr on a line of its own', () => {
    const output = memoryOutput();
    const report = progressReporter(output);
    report({ type: 'notice', message: '"x.csv": first row taken as a header (a, b).' });
    expect(output.lines).toEqual(['note: "x.csv": first row taken as a header (a, b).']);
  });
});
