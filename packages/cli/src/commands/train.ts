import { basename, relative } from 'node:path';
import {
  aekitError,
  describeOptions,
  fromFlag,
  getVariant,
  listVariants,
  type OptionInfo,
} from '@aekit/core';
import { type TrainOptions, train } from '@aekit/trainers';
import type { Output } from '../output.js';
import { pluginSpecifier } from '../plugins.js';
import { progressReporter } from '../progress.js';

/** Raw flags of `aekit train`, as commander gives them (strings). */
export type TrainFlags = Record<string, string | boolean | undefined>;

/** The training flags (everything else is a variant option). */
const NUMERIC = {
  limit: 'limit',
  epochs: 'epochs',
  batchSize: 'batchSize',
  lr: 'learningRate',
  seed: 'seed',
  validationSplit: 'validationSplit',
  patience: 'patience',
  minDelta: 'minDelta',
} as const;
const STRINGS = {
  variant: 'variant',
  data: 'data',
  dataDir: 'dataDir',
  optimizer: 'optimizer',
  backend: 'backend',
  normalize: 'normalize',
  header: 'header',
  out: 'out',
} as const;
const BOOLEANS = { resume: 'resume', overwrite: 'overwrite', figures: 'figures' } as const;

/** Every variant option flag, once, with the variants that take it (for --help). */
export function variantOptionFlags(): Map<string, { info: OptionInfo; variants: string[] }> {
  const flags = new Map<string, { info: OptionInfo; variants: string[] }>();
  for (const plugin of listVariants()) {
    for (const info of describeOptions(plugin.options)) {
      const entry = flags.get(info.flag);
      if (entry) entry.variants.push(plugin.name);
      else flags.set(info.flag, { info, variants: [plugin.name] });
    }
  }
  return flags;
}

/** Turns command-line flags into {@link TrainOptions}: numbers parsed, variant options split off. */
export function toTrainOptions(flags: TrainFlags): TrainOptions {
  const options: Record<string, unknown> = {};
  const variantOptions: Record<string, string> = {};
  const known = new Set(variantOptionFlags().keys());
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    if (key === 'plugin') {
      // Recorded as imported (a path made absolute), so later commands find the module.
      options.plugins = (value as unknown as string[]).map(pluginSpecifier);
    } else if (key === 'binarize') {
      // `--binarize` alone thresholds at 0.5; `--binarize 0.3` elsewhere.
      const t = value === true ? 0.5 : Number(value);
      if (!(t > 0 && t < 1)) {
        throw aekitError(
          'InvalidArgument',
          `--binarize takes a threshold between 0 and 1 (exclusive), got "${String(value)}".`,
        );
      }
      options.binarize = t;
    } else if (key in NUMERIC) {
      const n = Number(value);
      if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n)) {
        throw aekitError(
          'InvalidArgument',
          `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a number, got "${String(value)}".`,
        );
      }
      options[NUMERIC[key as keyof typeof NUMERIC]] = n;
    } else if (key in STRINGS) {
      options[STRINGS[key as keyof typeof STRINGS]] = value;
    } else if (key in BOOLEANS) {
      options[BOOLEANS[key as keyof typeof BOOLEANS]] = value;
    } else if (known.has(key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`))) {
      variantOptions[key] = String(value);
    }
  }
  if (!options.resume && !options.variant) {
    throw aekitError(
      'InvalidArgument',
      'aekit train needs --variant (see `aekit variants`), or --resume to continue a run.',
    );
  }
  if (options.variant) {
    // Fails early, with the list of variants, before any data is loaded.
    getVariant(String(options.variant));
  }
  return {
    ...options,
    options: Object.fromEntries(Object.entries(variantOptions).map(([k, v]) => [fromFlag(k), v])),
  } as TrainOptions;
}

/** `aekit train`: trains a variant and writes its run directory. */
export async function trainCommand(flags: TrainFlags, output: Output): Promise<void> {
  const options = toTrainOptions(flags);
  // Ctrl-C stops after the current batch (the last checkpoint is intact); twice quits now.
  const controller = new AbortController();
  const onInterrupt = () => {
    controller.abort();
    output.err('Stopping… (press Ctrl-C again to quit at once)');
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onInterrupt);
  let result: Awaited<ReturnType<typeof train>>;
  let figures: readonly string[] = [];
  const report = progressReporter(output);
  try {
    result = await train(
      options,
      (event) => {
        if (event.type === 'figures') figures = event.paths;
        report(event);
      },
      controller.signal,
    );
  } finally {
    process.off('SIGINT', onInterrupt);
  }
  const rel = relative(process.cwd(), result.run);
  const where = rel === '' ? '.' : rel.startsWith('..') ? result.run : rel;
  const last = result.metrics[result.metrics.length - 1];
  output.out(
    `Run written to ${where}/ (${result.manifest.status}, ${result.manifest.epochsCompleted} epochs${last ? `, loss ${last.loss.toFixed(4)}` : ''})`,
  );
  if (figures.length > 0) {
    const shown = figures.map((path) => `${where}/figures/${basename(path)}`);
    output.out(`  figures:    ${shown.join(', ')}`);
  }
  output.out(`  model:      ${where}/model/   checkpoint: ${where}/checkpoints/last.ckpt`);
  output.out(`Evaluate it with: aekit eval ${where}`);
}
