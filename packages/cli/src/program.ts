import { createRequire } from 'node:module';
import { BACKEND_NAMES, OPTIMIZERS, releaseBackend } from '@aekit/trainers';
import { Command, Option } from 'commander';
import { startBackend } from './backend-line.js';
import { type BenchFlags, benchCommand, DEFAULT_REPORT_FILE } from './bench/command.js';
import { BENCH_JOBS } from './bench/jobs.js';
import { BLAS_MODES } from './bench/run.js';
import { DEFAULT_PYTHON } from './bench/torch.js';
import { type ClassifyFlags, classifyCommand } from './commands/classify.js';
import { evalCommand } from './commands/eval.js';
import { exportCommand } from './commands/export.js';
import { type FiguresFlags, figuresCommand } from './commands/figures.js';
import {
  type InterpolateOptions,
  interpolateCommand,
  runData,
  type SampleOptions,
  sampleCommand,
} from './commands/generate.js';
import {
  type HashOptions,
  hashCommand,
  type SearchOptions,
  searchCommand,
} from './commands/hash.js';
import { type InferenceAction, inferCommand } from './commands/infer.js';
import { trainCommand, variantOptionFlags } from './commands/train.js';
import { variantsCommand } from './commands/variants.js';
import { type Output, processOutput, reportError } from './output.js';
import { loadPlugins, pluginArgs, runPlugins } from './plugins.js';

const { version: VERSION } = createRequire(import.meta.url)('../package.json') as {
  version: string;
};

/** `--device` of the commands that run exported models with the runtime. */
function runtimeDeviceOption(): Option {
  return new Option(
    '--device <name>',
    "where ONNX Runtime runs ('wasm': onnxruntime-web's WebAssembly build, as in browsers)",
  )
    .choices(['auto', 'cpu', 'webgpu', 'wasm'])
    .default('auto');
}

/** Builds the `aekit` command tree. Commands write through `output`. */
export function createProgram(output: Output = processOutput): Command {
  const program = new Command('aekit')
    .description(
      'Train, evaluate and inspect autoencoders: every classic variant, from PCA to VAEs.',
    )
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (s) => output.out(s.trimEnd()),
      writeErr: (s) => output.err(s.trimEnd()),
    })
    .exitOverride();

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
    .addOption(
      new Option('--backend <name>', 'compute backend').choices([...BACKEND_NAMES]).default('auto'),
    )
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
  const flags = variantOptionFlags();
  for (const [flag, { info, variants }] of flags) {
    const def =
      info.default !== undefined
        ? `; default ${Array.isArray(info.default) ? info.default.join(',') : String(info.default)}`
        : '';
    const choices = info.choices ? ` (${info.choices.join('|')})` : '';
    // Each variant validates its own values (two variants may accept different choices).
    trainCmd.addOption(
      new Option(
        `--${flag} <${info.type}>`,
        `[${variants.join(', ')}] ${info.description}${choices}${def}`,
      ),
    );
  }
  trainCmd
    .addHelpText(
      'after',
      '\nExample:\n  aekit train --variant stacked --data mnist --epochs 10 --layers 100,30 --out runs/mnist-stacked',
    )
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

  program
    .command('eval')
    .description(
      'Evaluate a run on held-out data (the test split, else the validation split) or on a file: reconstruction loss and MSE, next to the mean-image baseline.',
    )
    .argument('<run>', 'run directory written by `aekit train`')
    .option(
      '--data <file>',
      "score this file instead of the held-out split: an .npy, .csv or IDX file (optionally .gz) of samples of the run's input shape (or flat rows of as many values), raw as the training data was; the run's normalisation and --binarize are applied as in training",
    )
    .option(
      '--labels <file>',
      'labels of --data, one integer per sample in the same order (a one-column .csv, or .npy / IDX of shape [N]): for the retrieval, probe and classifier measures',
    )
    .option('--json', 'print the report as JSON')
    .option(
      '--probe',
      'also fit a logistic regression to the codings of the training split and report its held-out accuracy (labelled data)',
    )
    .addOption(
      new Option('--backend <name>', 'compute backend').choices([...BACKEND_NAMES]).default('auto'),
    )
    .option('--data-dir <dir>', "folder with the data set's files, if they moved since training")
    .addHelpText(
      'after',
      '\nExamples:\n  aekit eval runs/mnist-stacked\n  aekit eval runs/mnist-stacked --data x_test.npy --labels y_test.csv --json',
    )
    .action(
      async (
        run: string,
        opts: {
          json?: boolean;
          backend?: string;
          dataDir?: string;
          data?: string;
          labels?: string;
          probe?: boolean;
        },
      ) => {
        await evalCommand(
          run,
          { ...opts, backend: await startBackend(opts.backend, output) },
          output,
        );
      },
    );

  program
    .command('export')
    .description(
      'Export a run to ONNX (RUN/onnx/encoder.onnx, decoder.onnx, autoencoder.onnx, aekit.json), checked against the trained model.',
    )
    .argument('<run>', 'run directory written by `aekit train`')
    .option('--opset <n>', 'ONNX opset, 13 to 17', '13')
    .option('--data-dir <dir>', "folder with the data set's files, if they moved since training")
    .option('--json', 'print the report as JSON')
    .action(async (run: string, opts: { opset?: string; dataDir?: string; json?: boolean }) => {
      await exportCommand(run, opts, output);
    });

  const inference: Record<InferenceAction, string> = {
    encode: 'Encode samples to codings with the exported encoder.',
    decode: 'Decode codings to samples with the exported decoder.',
    reconstruct: 'Reconstruct samples with the exported autoencoder.',
  };
  for (const [action, description] of Object.entries(inference) as [InferenceAction, string][]) {
    program
      .command(action)
      .description(
        `${description} Reads and writes .npy, .csv and .png (one image in, a grid out).`,
      )
      .argument(
        '<model>',
        'an exported run directory, or a folder holding encoder.onnx and decoder.onnx',
      )
      .requiredOption(
        '--input <file>',
        action === 'decode'
          ? 'codings (.npy or .csv)'
          : 'samples (.npy, .csv, .idx or one .png image)',
      )
      .requiredOption(
        '--output <file>',
        action === 'encode'
          ? 'codings to write (.npy or .csv)'
          : 'samples to write (.npy, .csv or .png)',
      )
      .addOption(runtimeDeviceOption())
      .option(
        '--raw',
        "inputs are already normalised; use the graphs as they are (outputs stay normalised). Without it, inputs are normalised as in training: by the model's aekit.json, or the run's manifest.json beside an onnx/ folder without one; with neither, aekit refuses",
      )
      .option('--no-normalize', 'the same as --raw')
      .action(
        async (
          model: string,
          opts: {
            input: string;
            output: string;
            device?: string;
            normalize?: boolean;
            raw?: boolean;
          },
        ) => {
          await inferCommand(action, model, opts, output);
        },
      );
  }

  program
    .command('sample')
    .description(
      'Generate with an exported model that can sample: codings drawn from the prior N(0, I) and decoded (vae), or a Markov chain of corruption and reconstruction run from noise (gsn).',
    )
    .argument(
      '<run>',
      'an exported run directory, or a folder holding encoder.onnx and decoder.onnx',
    )
    .option('--n <count>', 'samples to draw', '60')
    .requiredOption('--out <file>', 'where to write them: .png (a grid), .npy or .csv')
    .option(
      '--seed <n>',
      'random seed: the same seed draws the same samples (default: random, printed)',
    )
    .option('--temperature <t>', 'vae: scale of the codings drawn (1: the prior itself)')
    .option('--steps <n>', "gsn: steps of the Markov chain (default: the model's, 30)")
    .option('--cols <n>', 'columns of the PNG grid', '10')
    .addOption(runtimeDeviceOption())
    .addHelpText(
      'after',
      `
Examples:
  aekit sample runs/vae --n 60 --out samples.png --seed 1
  aekit sample runs/vae --n 1000 --out samples.npy --temperature 0.8
  aekit sample runs/gsn --n 20 --steps 100 --out chain.png --seed 2`,
    )
    .action(async (run: string, opts: SampleOptions) => {
      await sampleCommand(run, opts, output);
    });

  program
    .command('interpolate')
    .description(
      "Decode the straight line between two inputs' codings: --steps images from one to the other, both ends included.",
    )
    .argument(
      '<run>',
      'an exported run directory, or a folder holding encoder.onnx and decoder.onnx',
    )
    .requiredOption(
      '--from <input>',
      "test:N (the N-th test image of the run's data set) or an image file (.png, .npy, .csv)",
    )
    .requiredOption('--to <input>', 'the other end, as --from')
    .option('--steps <n>', 'images on the line, both ends included', '10')
    .requiredOption('--out <file>', 'where to write them: .png (one row), .npy or .csv')
    .option(
      '--data-dir <dir>',
      "folder with the data set's files, if not where training found them",
    )
    .addOption(runtimeDeviceOption())
    .addHelpText(
      'after',
      `
Examples:
  aekit interpolate runs/vae --from test:0 --to test:1 --steps 10 --out line.png
  aekit interpolate runs/vae --from a.png --to b.png --out line.png`,
    )
    .action(async (run: string, opts: InterpolateOptions & { dataDir?: string }) => {
      await interpolateCommand(run, opts, runData(run, opts.dataDir), output);
    });

  program
    .command('figures')
    .description(
      'Draw what a run learned into RUN/figures: features.png (first-layer weights), top-activations.png (the training inputs that excite each coding unit most), dreams.png (the input gradient ascent finds for each unit), map.png (held-out codings in 2-D by UMAP, coloured by label) and loss.png (every loss term); each with a JSON file of its data.',
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
    .addOption(
      new Option('--backend <name>', 'compute backend').choices([...BACKEND_NAMES]).default('auto'),
    )
    .option('--data-dir <dir>', "folder with the data set's files, if they moved since training")
    .action(async (run: string, opts: FiguresFlags) => {
      await figuresCommand(run, opts, output);
    });

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
    .addOption(
      new Option('--backend <name>', 'compute backend').choices([...BACKEND_NAMES]).default('auto'),
    )
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

  program
    .command('hash')
    .description(
      "Build a hash index of a data set with a semantic-hashing model: each sample's code (its codings rounded to bits, from the exported encoder), packed as bits, with the labels when the data has them. Search it with `aekit search`.",
    )
    .argument('<run>', 'an exported run directory of a model that can hash (variant hashing)')
    .requiredOption('--data <source>', 'mnist, fashion-mnist, or an IDX, NPY or CSV file')
    .option('--split <split>', 'train or test, for built-in data sets', 'train')
    .option('--limit <n>', 'only the first N samples')
    .option('--ids <file>', 'a text file with one id per line, in the order of the samples')
    .requiredOption('--out <file>', 'the index to write (written atomically)')
    .option(
      '--data-dir <dir>',
      "folder with the data set's files, if not where aekit finds them by default",
    )
    .option(
      '--raw',
      "the data is already normalised; hash it as it is (recorded in the index, so that `aekit search` hashes query files the same way). Without it, data is normalised as the model's aekit.json records",
    )
    .addOption(runtimeDeviceOption())
    .addHelpText(
      'after',
      `
Examples:
  aekit hash runs/hashing --data mnist --split train --out mnist.aehash
  aekit search mnist.aehash --query item:0 --radius 1`,
    )
    .action(async (run: string, opts: HashOptions) => {
      await hashCommand(run, opts, output);
    });

  program
    .command('search')
    .description(
      'Find the items of a hash index (from `aekit hash`) within a Hamming distance of a query code, or its k nearest, and time the search.',
    )
    .argument('<index>', 'a hash index written by `aekit hash`')
    .option(
      '--query <query>',
      "item:N (the code of the index's N-th item), or samples to hash (.png, .npy, .csv) with the index's model",
    )
    .option('--code <hex>', 'a code in hex, as `aekit search` prints them')
    .option('--radius <r>', 'every item within this Hamming distance')
    .option('--k <n>', 'the N nearest items (ties by item number)')
    .option('--model <run>', "the model that hashes --query files (default: the index's)")
    .option('--show <n>', 'items to list per query', '10')
    .option('--json', 'print every item found as JSON')
    .addOption(runtimeDeviceOption())
    .addHelpText(
      'after',
      `
Examples:
  aekit search mnist.aehash --query item:0 --radius 1
  aekit search mnist.aehash --query digit.png --k 10
  aekit search mnist.aehash --code 0x2a3b4c5d --radius 2 --json`,
    )
    .action(async (index: string, opts: SearchOptions) => {
      await searchCommand(index, opts, output);
    });

  const benchCmd = program
    .command('bench')
    .description(
      'Benchmark aekit against a PyTorch reference: the same training jobs (model, MNIST data, batch size, Adam, epochs, seed) and encode throughput, alternating runs; prints samples/s of both, their ratio and both final test losses, and writes a JSON report.',
    )
    .option(
      '--jobs <list>',
      `comma-separated jobs to run, or all (default: all): ${BENCH_JOBS.map((j) => j.id).join(', ')}`,
    )
    .option(
      '--samples <n>',
      'training images per epoch for every training job (default: 12000 at batch 256, 6000 at batch 32)',
    )
    .option('--epochs <n>', 'timed epochs per training run, after one untimed warm-up epoch', '1')
    .option(
      '--repeat <n>',
      'rounds per job: aekit, PyTorch, aekit, PyTorch, ...; the medians are reported',
      '2',
    )
    .addOption(
      new Option('--backend <name>', "aekit's training backend")
        .choices([...BACKEND_NAMES])
        .default('auto'),
    )
    .option(
      '--threads <n>',
      'threads of each side: PyTorch (torch.set_num_threads and the threads of its BLAS), the BLAS that multiplies matrices for aekit on wasm, and ONNX Runtime intra-op threads for the encode jobs',
      '1',
    )
    .addOption(
      new Option(
        '--blas <mode>',
        "aekit's matrix products on wasm: auto (on BLAS where one is found), off (tfjs's own kernels, as on a machine without OpenBLAS), both (every training job with BLAS and again without, in one table each)",
      )
        .choices([...BLAS_MODES])
        .default('auto'),
    )
    .option('--python <path>', 'Python that has torch, for the PyTorch reference', DEFAULT_PYTHON)
    .addOption(
      new Option('--device <name>', 'where PyTorch runs').choices(['cpu', 'cuda']).default('cpu'),
    )
    .option('--out <file>', 'JSON report to write (atomically)', DEFAULT_REPORT_FILE)
    .option('--json', 'print the JSON report instead of the table')
    .option(
      '--quick',
      'tiny sample counts and short encode timings: a smoke test, not a measurement',
    )
    .showHelpAfterError(false)
    .addHelpText(
      'after',
      `
Jobs:
${BENCH_JOBS.map((j) => `  ${j.id.padEnd(12)} ${j.title}${j.kind === 'train' ? `, ${j.samples} images (--quick: ${j.quickSamples})` : ''}`).join('\n')}

Training jobs train aekit's stacked (conv jobs: conv; vae-b128: vae) variant through train()
and the same network in PyTorch
(reference/bench_torch.py: sigmoid output, BCE mean, Adam lr 1e-3 eps 1e-7, seed 42) on the
first N MNIST training images. PyTorch starts from aekit's initial weights and follows its
batch order, so both do the same arithmetic (the VAE's noise draws are each side's own);
then both compute the BCE on the 10,000 test images, which must agree within 2% (the
quality column). samples/s counts the training loop
of the timed epochs. Encode jobs export the trained SELU model (exportRun) and time encode()
on onnxruntime-node (cpu) against PyTorch's model.encoder(x) under torch.no_grad().

With the defaults the whole bench takes about four minutes on 2 cores with the wasm backend
(the plain-JS cpu backend is about ten times slower). Progress goes to stderr, the table (or
--json) to stdout. Without Python or torch the aekit numbers are still reported and the torch
columns say "skipped" (install it with: apt-get install python3-torch). The exit status is 1
when a run failed; a quality miss is flagged in the table, not in the exit status.

Examples:
  aekit bench
  aekit bench --jobs selu-b256,encode-b256 --repeat 3 --out runs/bench.json
  aekit bench --quick --json
  aekit bench --blas both                           (with and without OpenBLAS)
  aekit bench --device cuda --python python3       (on a GPU machine)`,
    )
    .action(async (opts: BenchFlags) => {
      const report = await benchCommand(opts, output);
      if (report.failures.length > 0) {
        benchCmd.error(
          `aekit bench: ${report.failures.length} run(s) failed (listed above and in the report).`,
          { exitCode: 1, code: 'commander.aekitBenchFailed' },
        );
      }
    });

  program
    .command('variants')
    .description('List the registered autoencoder variants and their options.')
    .argument('[name]', 'show only this variant, with its description')
    .option('--json', 'print as JSON')
    .option(
      '--plugin <module>',
      'import a variant plugin first (repeatable)',
      (v: string, p: string[] = []) => [...p, v],
    )
    .action((name: string | undefined, opts: { json?: boolean }) => {
      variantsCommand(name, Boolean(opts.json), output);
    });

  return program;
}

/** Runs the CLI on `argv` (without the node and script entries); resolves to the exit code. */
export async function main(
  argv: readonly string[],
  output: Output = processOutput,
): Promise<number> {
  try {
    // Plugins first: their variants' options become flags of `aekit train`.
    await loadPlugins([...pluginArgs(argv), ...runPlugins(argv)]);
    const program = createProgram(output);
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    const code = (error as { code?: string; exitCode?: number }).code;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      return (error as { exitCode: number }).exitCode;
    }
    return reportError(error, output);
  } finally {
    releaseBackend();
  }
}
