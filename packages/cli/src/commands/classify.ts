import { relative } from 'node:path';
import { aekitError } from '@aekit/core';
import { trainClassifier } from '@aekit/trainers';
import type { Command } from 'commander';
import { startBackend } from '../backend-line.js';
import { backendOption, numberFlag } from '../flags.js';
import { fmt, type Output } from '../output.js';

/** Flags of `aekit classify`, as commander gives them. */
export interface ClassifyFlags {
  readonly labelsFraction: string;
  readonly freeze?: string;
  readonly fromScratch?: boolean;
  readonly data?: string;
  readonly dataDir?: string;
  readonly epochs?: string;
  readonly batchSize?: string;
  readonly lr?: string;
  readonly seed?: string;
  readonly backend?: string;
  readonly out: string;
  readonly overwrite?: boolean;
}

/** `--freeze all|none|N`. */
function freezeOf(value: string | undefined): 'all' | 'none' | number | undefined {
  if (value === undefined || value === 'all' || value === 'none') return value;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw aekitError(
      'InvalidArgument',
      `--freeze must be all (train the head only), none (fine-tune everything) or a number of encoder layers, not "${value}".`,
    );
  }
  return n;
}

/**
 * `aekit classify RUN --labels-fraction F --out DIR`: a classifier from the run's encoder
 * plus a softmax head, trained on a fraction of the labels, with its test accuracy.
 */
export async function classifyCommand(run: string, flags: ClassifyFlags, output: Output) {
  const freeze = freezeOf(flags.freeze);
  const epochs = numberFlag(flags.epochs, '--epochs');
  const batchSize = numberFlag(flags.batchSize, '--batch-size');
  const learningRate = numberFlag(flags.lr, '--lr');
  const seed = numberFlag(flags.seed, '--seed');
  const backend = await startBackend(flags.backend, output);
  const result = await trainClassifier(
    {
      run,
      out: flags.out,
      labelsFraction: numberFlag(flags.labelsFraction, '--labels-fraction')!,
      ...(freeze !== undefined ? { freeze } : {}),
      ...(flags.fromScratch ? { fromScratch: true } : {}),
      ...(flags.data ? { data: flags.data } : {}),
      ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
      ...(epochs !== undefined ? { epochs } : {}),
      ...(batchSize !== undefined ? { batchSize } : {}),
      ...(learningRate !== undefined ? { learningRate } : {}),
      ...(seed !== undefined ? { seed } : {}),
      backend,
      ...(flags.overwrite ? { overwrite: true } : {}),
    },
    (e, of) =>
      output.err(
        `epoch ${e.epoch}/${of}  loss ${fmt(e.loss)}  accuracy ${fmt(e.accuracy)}  ${fmt(e.seconds, 2)}s  ${Math.round(e.samplesPerSecond)} samples/s`,
      ),
  );
  const c = result.manifest.classifier!;
  const where = relative(process.cwd(), result.run) || '.';
  output.out(
    `${result.split} accuracy ${fmt(result.testAccuracy, 4)}: ${result.manifest.variant} encoder ${c.pretrained ? `pretrained (${relative(process.cwd(), c.pretrained) || '.'})` : 'from scratch'}, freeze ${c.freeze}, ${c.labelled} labelled samples (${fmt(c.labelsFraction * 100, 3)}% of the labels), ${result.manifest.training.epochs} epochs`,
  );
  output.out(`Classifier run written to ${where}/; export it with: aekit export ${where}`);
}

/** Registers `aekit classify`. */
export function registerClassify(program: Command, output: Output): void {
  program
    .command('classify')
    .description(
      "Train a classifier from a run's encoder plus a softmax head on a fraction of the labels (unsupervised pretraining), and report its test accuracy. --from-scratch trains the same network from random weights, for comparison.",
    )
    .argument('<run>', 'the pretrained autoencoder run (written by `aekit train`)')
    .requiredOption('--labels-fraction <f>', 'share of the training labels to use, e.g. 0.01')
    .option(
      '--freeze <which>',
      'encoder layers kept as pretrained: all (train the head only), none (fine-tune all), or N (the first N)',
      'none',
    )
    .option('--from-scratch', "start from random weights instead of the run's")
    .option('--data <source>', "labelled data (default: the run's): mnist, fashion-mnist or a file")
    .option('--data-dir <dir>', "folder with the data set's files")
    .option('--epochs <n>', 'epochs over the labelled samples', '10')
    .option('--batch-size <n>', 'samples per batch', '32')
    .option('--lr <rate>', 'Adam learning rate', '0.001')
    .option(
      '--seed <n>',
      "seed of the labelled subset, the head and the shuffles (default: the run's)",
    )
    .addOption(backendOption())
    .requiredOption('--out <dir>', 'the classifier run directory to write')
    .option('--overwrite', 'replace a run already in --out')
    .addHelpText(
      'after',
      `
Examples:
  aekit classify runs/stacked --labels-fraction 0.01 --out runs/cls-1pct
  aekit classify runs/stacked --labels-fraction 0.01 --from-scratch --out runs/cls-1pct-scratch
  aekit classify runs/stacked --labels-fraction 0.1 --freeze all --out runs/cls-probe-head`,
    )
    .action(async (run: string, opts: ClassifyFlags) => {
      await classifyCommand(run, opts, output);
    });
}
