// Prepares the playground's assets from real data with aekit itself:
//   public/data/mnist-test.bin  the first TEST_IMAGES MNIST test images (uint8, 784 each)
//                               followed by their labels (uint8), read from the real files;
//   public/data/mnist-train.bin the first TRAIN_IMAGES training images, the same way (for the
//                               in-page training);
//   public/models/NAME/         one small model per variant, trained and exported by the
//                               aekit CLI (plus a hash index of the test images for hashing);
//   public/models/index.json    what each model is and can do.
// A model is rebuilt only when missing or when its recipe below changes; `--only a,b`
// prepares just those. Each model is scored on the 10,000 test digits after training (its
// test MSE over the mean image's, printed and kept in index.json, which the page shows). Every registered
// variant without a recipe here (a new one in @aekit/trainers, or a plugin package named in
// AEKIT_PLUGINS, comma-separated, as `aekit --plugin` takes them) gets a model trained with
// its defaults, so it shows in the playground with no edit. Needs the workspace built
// (npm run build).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '@aekit/core/node';
import { lock } from 'proper-lockfile';

const here = dirname(fileURLToPath(import.meta.url));
const app = resolve(here, '..');
const cli = resolve(app, '../../packages/cli/dist/bin.js');
const TEST_IMAGES = 1000;
/** Training images for the page's own training (the Train view). */
const TRAIN_IMAGES = 2000;

/** The models: variant and options. Small, so most train in seconds. */
export const RECIPES = [
  {
    name: 'stacked',
    title: 'Stacked autoencoder (784-128-32)',
    args: ['--variant', 'stacked', '--layers', '128,32'],
  },
  {
    name: 'linear',
    title: 'Linear autoencoder (PCA, 32 components)',
    args: ['--variant', 'linear', '--coding-size', '32'],
  },
  {
    name: 'tied',
    title: 'Tied-weights autoencoder (784-128-32)',
    args: ['--variant', 'tied', '--layers', '128,32'],
  },
  {
    name: 'greedy',
    title: 'Greedy layer-wise autoencoder (784-128-32)',
    args: ['--variant', 'greedy', '--layers', '128,32', '--epochs', '2'],
  },
  {
    name: 'contractive',
    title: 'Contractive autoencoder (784-128-32)',
    args: ['--variant', 'contractive', '--layers', '128,32'],
  },
  {
    name: 'conv',
    title: 'Convolutional autoencoder',
    args: ['--variant', 'conv', '--epochs', '2'],
  },
  {
    name: 'denoising',
    title: 'Denoising autoencoder (Gaussian noise 0.4)',
    args: [
      '--variant',
      'denoising',
      '--layers',
      '128,32',
      '--noise',
      'gaussian',
      '--noise-std',
      '0.4',
    ],
  },
  {
    name: 'sparse',
    title: 'Sparse autoencoder (10% activation)',
    args: ['--variant', 'sparse', '--layers', '128,64', '--sparsity-target', '0.1'],
  },
  {
    name: 'wta',
    title: 'Winner-take-all autoencoder (5% lifetime)',
    args: ['--variant', 'wta', '--layers', '256', '--batch-size', '100', '--loss', 'mse'],
  },
  {
    name: 'vae',
    title: 'Variational autoencoder (2-D codings)',
    // Its samples are the Generate view's first sight: on all 60,000 training digits with
    // two hidden layers, 83% of them are digits the test's classifier is sure of (62% with
    // 256 units on 10,000 digits for 12 epochs, whose samples included blots). About 2
    // minutes on 2 cores, paid by the first build only.
    args: [
      ...['--variant', 'vae', '--coding-size', '2', '--layers', '512,256'],
      ...['--limit', '60000', '--epochs', '12'],
    ],
  },
  {
    name: 'adversarial',
    title: 'Adversarial autoencoder (2-D codings)',
    args: ['--variant', 'adversarial', '--layers', '256,2', '--epochs', '12'],
  },
  {
    name: 'gsn',
    title: 'Generative stochastic network (denoising chain)',
    args: ['--variant', 'gsn', '--layers', '256,128', '--noise', 'dropout', '--noise-rate', '0.5'],
  },
  {
    name: 'hashing',
    title: 'Semantic hashing (24 bits)',
    args: ['--variant', 'hashing', '--layers', '256', '--bits', '24'],
  },
];
const COMMON = [
  '--data',
  'mnist',
  '--limit',
  '10000',
  '--epochs',
  '4',
  '--seed',
  '1',
  '--backend',
  'wasm',
  '--no-figures',
  '--overwrite',
];

/** Plugin packages or files to load (`--plugin`), from AEKIT_PLUGINS. */
const PLUGINS = (process.env.AEKIT_PLUGINS ?? '')
  .split(',')
  .map((p) => p.trim())
  .filter(Boolean)
  .flatMap((p) => ['--plugin', p]);

/** Runs the aekit CLI and returns its output, which is shown only when it fails. */
function aekit(args) {
  try {
    return execFileSync(process.execPath, [cli, ...args], { stdio: 'pipe', encoding: 'utf8' });
  } catch (err) {
    process.stderr.write(`${err.stdout ?? ''}${err.stderr ?? ''}`);
    throw new Error(`aekit ${args[0]} failed (exit ${err.status}): aekit ${args.join(' ')}`);
  }
}

/** The first `count` images of a split (uint8, 784 each) then their labels (uint8). */
function prepareData(split, count) {
  const file = join(app, `public/data/mnist-${split}.bin`);
  if (existsSync(file)) return;
  const { dataset } = loadDataset({ source: 'mnist', split, limit: count, normalize: 'none' });
  const bytes = new Uint8Array(count * 785);
  for (let i = 0; i < count * 784; i++) bytes[i] = Math.round(dataset.x[i]);
  bytes.set(Uint8Array.from(dataset.labels), count * 784);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, bytes);
  console.error(`playground: wrote ${file} (${bytes.length} bytes)`);
}

/** What was built for `recipe` (its options and test score), or undefined. */
function builtStamp(recipe) {
  const file = join(app, 'public/models', recipe.name, 'recipe.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * How the models are exported: the smallest weights (int8, else float16) whose quality on
 * held-out digits stays within aekit's default budget of the float32 graphs (1%), so that a
 * visit downloads a quarter of the bytes.
 */
const EXPORT = ['--precision', 'auto'];

function prepareModel(recipe) {
  const out = join(app, 'public/models', recipe.name);
  const args = [recipe.args, COMMON];
  const built = builtStamp(recipe);
  const run = join(app, '.models', recipe.name);
  // Models built before they were scored are rebuilt too; a trained run whose export
  // settings changed is only exported again.
  if (JSON.stringify(built?.args) === JSON.stringify(args) && typeof built.mseRatio === 'number') {
    if (JSON.stringify(built.exportArgs) === JSON.stringify(EXPORT)) return;
    if (existsSync(join(run, 'manifest.json'))) {
      exportModel(recipe, run, out, { args, mseRatio: built.mseRatio });
      return;
    }
  }
  const started = Date.now();
  // The recipe's own options come last, so they win over the common ones (e.g. --epochs).
  aekit(['train', ...COMMON, ...recipe.args, '--out', run]);
  const { mseRatio } = JSON.parse(aekit(['eval', run, '--json', '--backend', 'wasm']));
  exportModel(recipe, run, out, { args, mseRatio });
  console.error(
    `playground: ${recipe.name} trained and exported in ${((Date.now() - started) / 1000).toFixed(0)} s; test MSE ${mseRatio.toFixed(3)}x the mean image's`,
  );
  if (mseRatio >= 1) {
    console.error(
      `playground: warning: ${recipe.name} reconstructs the test digits worse than their mean image does; the page says so beside its name`,
    );
  }
}

/** Exports `run` (see {@link EXPORT}) into the page's `out` folder and stamps it. */
function exportModel(recipe, run, out, stamp) {
  const report = JSON.parse(aekit(['export', run, ...EXPORT, '--json']));
  rmSync(out, { recursive: true, force: true });
  cpSync(join(run, 'onnx'), out, { recursive: true });
  // Any model that hashes gets an index of the test images, for the Hashing view.
  const { capabilities } = JSON.parse(readFileSync(join(run, 'onnx', 'aekit.json'), 'utf8'));
  if (capabilities.includes('hash')) {
    aekit([
      'hash',
      run,
      '--data',
      'mnist',
      '--split',
      'test',
      '--limit',
      String(TEST_IMAGES),
      '--device',
      'cpu',
      '--out',
      join(out, 'test.aehash'),
    ]);
  }
  writeFileSync(join(out, 'recipe.json'), JSON.stringify({ ...stamp, exportArgs: EXPORT }));
  console.error(
    `playground: ${recipe.name} exported with ${report.precision} weights (quality loss ${((report.quality?.loss ?? 0) * 100).toPrecision(2)}%)`,
  );
}

/** The recipes, and one with default options for each registered variant that has none. */
function allRecipes() {
  const variants = JSON.parse(aekit(['variants', '--json', ...PLUGINS]));
  const covered = new Set(RECIPES.map((r) => r.name));
  const extra = variants
    .filter((v) => !covered.has(v.name))
    .map((v) => ({
      name: v.name,
      title: `${v.title} (default options)`,
      args: ['--variant', v.name, ...PLUGINS],
    }));
  return [...RECIPES, ...extra];
}

/** `--only a,b`: prepare just these models (the index lists every model already there). */
function onlyFlag() {
  const i = process.argv.indexOf('--only');
  if (i < 0) return undefined;
  const names = (process.argv[i + 1] ?? '').split(',').filter(Boolean);
  if (names.length === 0) throw new Error('--only takes a comma-separated list of model names');
  return new Set(names);
}

// One preparation at a time: test files that build the playground start together, and two
// trainings of one model would collide on its run directory. The others wait here, then
// find the models built. The training calls block this process, so the lock's freshness is
// not renewed while they run: it counts as abandoned only after 30 minutes.
mkdirSync(join(app, '.models'), { recursive: true });
const release = await lock(app, {
  lockfilePath: join(app, '.models', 'prepare.lock'),
  stale: 30 * 60_000,
  retries: { retries: 30 * 60, factor: 1, minTimeout: 1000, maxTimeout: 1000 },
});
prepareData('test', TEST_IMAGES);
prepareData('train', TRAIN_IMAGES);
const only = onlyFlag();
const known = allRecipes();
for (const name of only ?? []) {
  if (!known.some((r) => r.name === name))
    throw new Error(`--only ${name}: no such model; known: ${known.map((r) => r.name).join(', ')}`);
}
for (const recipe of known) if (!only || only.has(recipe.name)) prepareModel(recipe);
const recipes = known.filter((r) => existsSync(join(app, 'public/models', r.name, 'aekit.json')));
const index = recipes.map((r) => {
  const meta = JSON.parse(readFileSync(join(app, 'public/models', r.name, 'aekit.json'), 'utf8'));
  return {
    name: r.name,
    title: r.title,
    variant: meta.variant,
    capabilities: meta.capabilities,
    codingShape: meta.codingShape,
    mseRatio: builtStamp(r)?.mseRatio,
    ...(meta.capabilities.includes('hash') ? { hashIndex: 'test.aehash' } : {}),
  };
});
writeFileSync(
  join(app, 'public/models/index.json'),
  `${JSON.stringify({ testImages: TEST_IMAGES, trainImages: TRAIN_IMAGES, models: index }, null, 2)}\n`,
);
await release();
