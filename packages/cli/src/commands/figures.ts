import { relative } from 'node:path';
import { aekitError } from '@aekit/core';
import { drawFigures } from '@aekit/trainers';
import type { Output } from '../output.js';

/** Flags of `aekit figures`. */
export interface FiguresFlags {
  readonly units?: string;
  readonly top?: string;
  readonly mapSamples?: string;
  readonly dreamSteps?: string;
  readonly backend?: string;
  readonly dataDir?: string;
}

function count(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw aekitError('InvalidArgument', `${flag} must be a positive integer, not "${value}".`);
  }
  return n;
}

/** `aekit figures RUN`: draws what the model learned into RUN/figures. */
export async function figuresCommand(run: string, flags: FiguresFlags, output: Output) {
  const units = count(flags.units, '--units');
  const top = count(flags.top, '--top');
  const mapSamples = count(flags.mapSamples, '--map-samples');
  const dreamSteps = count(flags.dreamSteps, '--dream-steps');
  const started = performance.now();
  const written = await drawFigures(run, {
    ...(units ? { units } : {}),
    ...(top ? { top } : {}),
    ...(mapSamples ? { mapSamples } : {}),
    ...(dreamSteps ? { dreamSteps } : {}),
    ...(flags.backend ? { backend: flags.backend } : {}),
    ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
  });
  output.out(`Figures of ${run} (${((performance.now() - started) / 1000).toFixed(1)} s):`);
  for (const path of written) output.out(`  ${relative(process.cwd(), path) || path}`);
}
