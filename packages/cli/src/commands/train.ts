import { basename, relative } from 'node:path';
import {
  aekitError,
  describeOptions,
  fromFlag,
  getVariant,
  listVariants,
  type OptionInfo,
} from '@aekit/core';
import { OPTIMIZERS, type TrainOptions, train } from '@aekit/trainers';
import { type Command, Option } from 'commander';
import { backendOption, optionHelp } from '../flags.js';
import { stoppableByCtrlC } from '../interrupt.js';
import { fmt, type Output, plural } from '../output.js';
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
  let figures: readonly string[] = [];
  const report = progressReporter(output);
  const result = await stoppableByCtrlC(output, (signal) =>
    train(
      options,
      (event) => {
        if (event.type === 'figures') figures = event.paths;
        report(event);
      },
      signal,
    ),
  );
  const rel = relative(process.cwd(), result.run);
  const where = rel === '' ? '.' : rel.startsWith('..') ? result.run : rel;
  const last = result.metrics[result.metrics.length - 1];
  output.out(
    `Run written to ${where}/ (${result.manifest.status}, ${plural(result.manifest.epochsCompleted, 'epoch')}${last ? `, loss ${fmt(last.loss)}` : ''})`,
  );
  if (figures.length > 0) {
    const shown = figures.map((path) => `${where}/figures/${basename(path)}`);
    output.out(`  figures:    ${shown.join(', ')}`);
  }
  output.out(`  model:      ${where}/model/   checkpoint: ${where}/checkpoints/last.ckpt`);
  output.out(`Evaluate it with: aekit eval ${where}`);
}

/**
 * What `aekit train --help` ends with: where the variants' options are and an example, or
 * with `--variant X`, an example of X.
 */
function trainHelpAfter(variant: string | undefined): string {
  if (variant !== undefined) {
    return `\nExample:\n  aekit train --variant ${variant} --data mnist --epochs 10 --out runs/mnist-${variant}`;
  }
  const names = listVariants().map((p) => p.name);
  return [
    '',
    `Each variant has options of its own: \`aekit train --variant NAME --help\` lists NAME's, with their defaults (variants: ${names.join(', ')}).`,
    '',
    'Example:',
    '  aekit train --variant stacked --data mnist --epochs 10 --layers 100,30 --out runs/mnist-stacked',
  ].join('\n');
}

/** Registers `aekit train`: its flags, the variant options of every registered variant, and the action. */
export function registerTrain(program: Command, output: Output): void {
  const trainCmd = program
    .command('train')
    .description(
      'Train an autoencoder variant and write its run directory (manifest, metrics, checkpoints, model, figures).',
    )
    .option('--variant <name>', 'variant to train (see `aekit variants`)')
    .option(
      '--plugin <module>',
      'import a variant plugin first: an installed package name or the path of an ES module (repeatable; recorded in the run)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--data <name|file>',
      'built-in data set (mnist, fashion-mnist) or an .idx[.gz], .npy or .csv file',
      'mnist',
    )
    .option(
      '--data-dir <dir>',
      "folder with a built-in data set's IDX files, if not in the default place",
    )
    .option('--limit <n>', 'use only the first N training samples')
    .option(
      '--validation-split <f>',
      'fraction of the training samples held out for validation',
      '0.1',
    )
    .addOption(
      new Option('--normalize <kind>', 'input normalisation')
        .choices(['auto', 'none', 'unit', 'minmax', 'standard'])
        .default('auto'),
    )
    .addOption(
      new Option(
        '--header <choice>',
        "whether a CSV file's first row is a header (default auto: when none of its cells is a number)",
      ).choices(['yes', 'no', 'auto']),
    )
    .option(
      '--binarize [threshold]',
      'set pixels above the threshold (default 0.5, after normalisation) to 1, the others to 0',
    )
    .option('--epochs <n>', 'epochs to train (with --resume: the total to reach)')
    .option('--batch-size <n>', 'samples per batch', '32')
    .addOption(
      new Option('--optimizer <name>', 'optimiser')
        .choices(Object.keys(OPTIMIZERS))
        .default('adam'),
    )
    .option(
      '--lr <rate>',
      'learning rate (default: 0.001 for adam and rmsprop, 0.01 for sgd and momentum)',
    )
    .option('--seed <n>', 'random seed: same seed, same run', '42')
    .addOption(backendOption())
    .option(
      '--patience <n>',
      'early stopping: stop after N epochs without validation improvement (0: off)',
      '0',
    )
    .option('--min-delta <d>', 'early stopping: smallest improvement that counts', '0')
    .requiredOption('--out <dir>', 'run directory to write')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--overwrite', 'replace a run already in --out')
    .option('--no-figures', 'skip figures/reconstructions.png and figures/loss.png');
  // Every variant's options are flags, hidden from the general help: `--variant X --help`
  // shows X's own, with X's descriptions and defaults.
  const variantOptions = new Map<string, Option>();
  for (const [flag, { info }] of variantOptionFlags()) {
    const option = new Option(`--${flag} <${info.type}>`, info.description).hideHelp();
    variantOptions.set(flag, option);
    trainCmd.addOption(option);
  }
  trainCmd.on('option:variant', (name: string) => {
    const own = new Map(describeOptions(getVariant(name).options).map((o) => [o.flag, o]));
    for (const [flag, option] of variantOptions) {
      const info = own.get(flag);
      option.hidden = info === undefined;
      if (info) {
        option.description = optionHelp(info);
        option.helpGroup(`Options of ${name}:`);
      }
    }
  });
  trainCmd
    .addHelpText('after', () => trainHelpAfter(trainCmd.getOptionValue('variant')))
    .action(async (opts: Record<string, string | boolean | undefined>, cmd: Command) => {
      // A resumed run keeps its own settings: only the options typed on the command line
      // count (a default such as --batch-size 32 is not a request to change the run's).
      if (opts.resume) {
        for (const key of Object.keys(opts)) {
          if (cmd.getOptionValueSource(key) === 'default') delete opts[key];
        }
      }
      await trainCommand(opts, output);
    });
}
