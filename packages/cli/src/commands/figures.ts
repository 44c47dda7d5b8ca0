import { relative } from 'node:path';
import { drawFigures } from '@aekit/trainers';
import type { Command } from 'commander';
import { startBackend } from '../backend-line.js';
import { backendOption, numberFlag } from '../flags.js';
import { duration, type Output } from '../output.js';

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
  // Each figure on stderr as it starts: some take seconds (dreams, the map).
  const onFigure = (name: string) => output.err(`figures: drawing ${name}…`);
  const written = await drawFigures(run, {
    onFigure,
    ...(units ? { units } : {}),
    ...(top ? { top } : {}),
    ...(mapSamples ? { mapSamples } : {}),
    ...(dreamSteps ? { dreamSteps } : {}),
    backend,
    ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
  });
  output.out(`Figures of ${run} (${duration((performance.now() - started) / 1000)}):`);
  for (const path of written) output.out(`  ${relative(process.cwd(), path) || path}`);
}

/** Registers `aekit figures`. */
export function registerFigures(program: Command, output: Output): void {
  program
    .command('figures')
    .description(
      'Draw what a run learned into RUN/figures: features.png (first-layer weights), top-activations.png (the training inputs that excite each coding unit most), dreams.png (the input gradient ascent finds for each unit), map.png (held-out codings in 2-D by UMAP, coloured by label), each with a JSON file of its data; samples.png for a variant that samples (and latent-grid.png for a 2-D coding); and loss.png (every loss term, the loss and its unit on the y-axis).',
    )
    .argument('<run>', 'run directory written by `aekit train`')
    .option(
      '--units <n>',
      'units shown (the first N of the first layer; the N coding units of largest variance)',
      '16',
    )
    .option('--top <n>', 'inputs per unit in top-activations.png', '8')
    .option('--map-samples <n>', 'held-out samples on the map', '2000')
    .option('--dream-steps <n>', 'gradient-ascent steps per dream', '200')
    .addOption(backendOption())
    .option('--data-dir <dir>', "folder with the data set's files, if they moved since training")
    .action(async (run: string, opts: FiguresFlags) => {
      await figuresCommand(run, opts, output);
    });
}
