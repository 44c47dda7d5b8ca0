import { relative } from 'node:path';
import { drawFigures } from '@aekit/trainers';
import { startBackend } from '../backend-line.js';
import { numberFlag } from '../flags.js';
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

/** `aekit figures RUN`: draws what the model learned into RUN/figures. */
export async function figuresCommand(run: string, flags: FiguresFlags, output: Output) {
  const units = numberFlag(flags.units, '--units', 1);
  const top = numberFlag(flags.top, '--top', 1);
  const mapSamples = numberFlag(flags.mapSamples, '--map-samples', 1);
  const dreamSteps = numberFlag(flags.dreamSteps, '--dream-steps', 1);
  const backend = await startBackend(flags.backend, output);
  const started = performance.now();
  const written = await drawFigures(run, {
    ...(units ? { units } : {}),
    ...(top ? { top } : {}),
    ...(mapSamples ? { mapSamples } : {}),
    ...(dreamSteps ? { dreamSteps } : {}),
    backend,
    ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
  });
  output.out(`Figures of ${run} (${((performance.now() - started) / 1000).toFixed(1)} s):`);
  for (const path of written) output.out(`  ${relative(process.cwd(), path) || path}`);
}
