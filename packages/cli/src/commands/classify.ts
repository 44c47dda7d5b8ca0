import { relative } from 'node:path';
import { aekitError } from '@aekit/core';
import { trainClassifier } from '@aekit/trainers';
import type { Command } from 'commander';
import { startBackend } from '../backend-line.js';
import { backendOption, numberFlag } from '../flags.js';
import { stoppableByCtrlC } from '../interrupt.js';
import { fmt, type Output } from '../output.js';

/** Flags of `aekit classify`, as commander gives them. */
export interface ClassifyFlags {
  readonly labelsFraction?: string;
  readonly freeze?: string;
  readonly fromScratch?: boolean;
  readonly data?: string;
  readonly dataDir?: string;
  readonly epochs?: string;
  readonly batchSize?: string;
  readonly lr?: string;
  readonly seed?: string;
  readonly validationSplit?: string;
  readonly patience?: string;
  readonly minDelta?: string;
  readonly backend?: string;
  readonly out: string;
  readonly overwrite?: boolean;
  readonly resume?: boolean;
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
 * `aekit classify --resume --out DIR` continues one; Ctrl-C stops it after the current
 * batch, its last checkpoint kept.
 */
export async function classifyCommand(
  run: string | undefined,
  flags: ClassifyFlags,
  output: Output,
) {
  const freeze = freezeOf(flags.freeze);
  const labelsFraction = numberFlag(flags.labelsFraction, '--labels-fraction');
  const epochs = numberFlag(flags.epochs, '--epochs');
  const batchSize = numberFlag(flags.batchSize, '--batch-size');
  const learningRate = numberFlag(flags.lr, '--lr');
  const seed = numberFlag(flags.seed, '--seed');
  const validationSplit = numberFlag(flags.validationSplit, '--validation-split');
  const patience = numberFlag(flags.patience, '--patience', 0);
  const minDelta = numberFlag(flags.minDelta, '--min-delta');
  const backend = await startBackend(flags.backend, output);
  const result = await stoppableByCtrlC(output, (signal) =>
    trainClassifier(
      {
        ...(run !== undefined ? { run } : {}),
        out: flags.out,
        ...(labelsFraction !== undefined ? { labelsFraction } : {}),
        ...(freeze !== undefined ? { freeze } : {}),
        ...(flags.fromScratch ? { fromScratch: true } : {}),
        ...(flags.data ? { data: flags.data } : {}),
        ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
        ...(epochs !== undefined ? { epochs } : {}),
        ...(batchSize !== undefined ? { batchSize } : {}),
        ...(learningRate !== undefined ? { learningRate } : {}),
        ...(seed !== undefined ? { seed } : {}),
        ...(validationSplit !== undefined ? { validationSplit } : {}),
        ...(patience !== undefined ? { patience } : {}),
        ...(minDelta !== undefined ? { minDelta } : {}),
        backend,
        ...(flags.overwrite ? { overwrite: true } : {}),
        ...(flags.resume ? { resume: true } : {}),
      },
      (e, of) =>
        output.err(
          `epoch ${e.epoch}/${of}  loss ${fmt(e.loss)}  accuracy ${fmt(e.accuracy)}${e.valLoss !== undefined ? `  val loss ${fmt(e.valLoss)}` : ''}${e.valAccuracy !== undefined ? `  val accuracy ${fmt(e.valAccuracy)}` : ''}  ${fmt(e.seconds, 2)}s  ${Math.round(e.samplesPerSecond)} samples/s`,
        ),
      signal,
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
    .argument(
      '[run]',
      'the pretrained autoencoder run (written by `aekit train`; not with --resume)',
    )
    .option(
      '--labels-fraction <f>',
      'share of the training labels to use, e.g. 0.01 (required unless --resume)',
    )
    .option(
      '--freeze <which>',
      'encoder layers kept as pretrained: all (train the head only), none (fine-tune all), or N (the first N)',
      'none',
    )
    .option('--from-scratch', "start from random weights instead of the run's")
    .option('--data <source>', "labelled data (default: the run's): mnist, fashion-mnist or a file")
    .option('--data-dir <dir>', "folder with the data set's files")
    .option(
      '--epochs <n>',
      'epochs over the labelled samples (with --resume: the total to reach)',
      '10',
    )
    .option('--batch-size <n>', 'samples per batch', '32')
    .option('--lr <rate>', 'Adam learning rate', '0.001')
    .option(
      '--seed <n>',
      "seed of the labelled subset, the head and the shuffles (default: the run's)",
    )
    .option(
      '--validation-split <f>',
      'fraction of the labelled samples held out for validation (default 0: none)',
    )
    .option(
      '--patience <n>',
      'early stopping: stop after N epochs without validation improvement (0: off)',
      '0',
    )
    .option('--min-delta <d>', 'early stopping: smallest improvement that counts', '0')
    .addOption(backendOption())
    .requiredOption('--out <dir>', 'the classifier run directory to write')
    .option('--resume', 'continue the classifier run in --out from its last checkpoint')
    .option('--overwrite', 'replace a run already in --out')
    .addHelpText(
      'after',
      `
Examples:
  aekit classify runs/stacked --labels-fraction 0.01 --out runs/cls-1pct
  aekit classify runs/stacked --labels-fraction 0.01 --from-scratch --out runs/cls-1pct-scratch
  aekit classify runs/stacked --labels-fraction 0.1 --freeze all --out runs/cls-probe-head
  aekit classify runs/stacked --labels-fraction 0.1 --validation-split 0.2 --patience 3 --out runs/cls-early
  aekit classify --resume --out runs/cls-1pct`,
    )
    .action(async (run: string | undefined, opts: ClassifyFlags, cmd: Command) => {
      // A resumed run keeps its own settings: only the options typed on the command line
      // count (a default such as --batch-size 32 is not a request to change the run's).
      if (opts.resume) {
        const flags = opts as unknown as Record<string, unknown>;
        for (const key of Object.keys(flags)) {
          if (cmd.getOptionValueSource(key) === 'default') delete flags[key];
        }
      }
      await classifyCommand(run, opts, output);
    });
}
