import { relative } from 'node:path';
import { aekitError } from '@aekit/core';
import { trainClassifier } from '@aekit/trainers';
import { startBackend } from '../backend-line.js';
import { numberFlag } from '../flags.js';
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
