#!/usr/bin/env node
/**
 * `npm run bench:serve`: `aekit serve` under load, on loopback, against two ceilings.
 *
 * Trains a small stacked MNIST run (784-100-30 SELU) and exports it to a model repository
 * (both reused when they are there), serves the repository, then, with autocannon and a
 * fixed number of requests per case:
 *
 * - `bare-http`: a `node:http` server that parses the same JSON body and answers a fixed
 *   small JSON: the most requests/s this machine's HTTP stack and JSON parsing allow;
 * - `ort-b1`, `ort-b256`: onnxruntime-node in-process on the same encoder graph, samples/s;
 * - `serve-b1-batched`, `serve-b1-unbatched`: batch-1 encode requests to `aekit serve` at 64
 *   connections, with dynamic batching and without (queue delay 0, max batch size 1);
 * - `serve-b256`: batch-256 encode requests;
 * - `serve-b1-binary`, `serve-b256-binary`: the same with the binary tensor data extension;
 * - `overload`: 4x more connections than a small queue holds, unbatched: 503s expected,
 *   no other errors, the server still ready afterwards.
 *
 * The server's RSS is read before and after `--requests` batch-1 requests (100,000; 1,000
 * with `--quick`). Prints one table and writes a JSON report (`--out`, default
 * `bench-serve-report.json`).
 *
 * ```sh
 * npm run bench:serve                          # builds, then about a minute on 2 cores
 * node tools/bench/serve.mjs --quick --json    # smoke test, JSON on stdout
 * ```
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'packages/cli/dist/bin.js');

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-serve-report.json' },
    run: { type: 'string', default: join(os.tmpdir(), 'aekit-bench-serve', 'digits') },
    requests: { type: 'string' },
    connections: { type: 'string', default: '64' },
  },
});
const quick = args.quick;
/** Requests of the batch-1 cases (the RSS is read before and after the batched one). */
const REQUESTS = Number(args.requests ?? (quick ? 1_000 : 100_000));
const CONNECTIONS = Number(args.connections);
/** Requests of the batch-256 cases, and of the overload. */
const REQUESTS_B256 = quick ? 16 : 1_000;
const REQUESTS_OVERLOAD = quick ? 1_000 : 20_000;
/** Seconds of each in-process ONNX Runtime timing. */
const ORT_SECONDS = quick ? 0.3 : 3;
const OVERLOAD_QUEUE = 16;
const log = (line) => {
  if (!args.json) process.stderr.write(`${line}\n`);
};

/** Runs the built CLI; rejects with its stderr when it fails. */
function aekit(...argv) {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [BIN, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('exit', (code) =>
      code === 0 ? ok() : fail(new Error(`aekit ${argv.join(' ')} exited ${code}: ${stderr}`)),
    );
  });
}

/**
 * The model repository served: `RUN`'s graphs exported to `RUN-repository` as the models
 * `NAME-…` (normalisation folded in, as a deployment serves them). The run is trained when
 * it is not there; both are reused when they are.
 */
async function ensureRepository(run, name) {
  const repository = `${run}-repository`;
  if (existsSync(join(repository, `${name}-encoder`, '1', 'model.onnx'))) return repository;
  if (!existsSync(join(run, 'manifest.json'))) {
    log(`training ${run} ...`);
    await aekit(
      ...['train', '--variant', 'stacked', '--layers', '100,30', '--data', 'mnist'],
      ...['--limit', '1000', '--epochs', '1', '--backend', 'wasm', '--no-figures', '--out', run],
    );
  }
  log(`exporting ${run} to the model repository ${repository} ...`);
  await aekit('export', run, '--repository', repository, '--name', name, '--version', '1');
  return repository;
}

/** Starts a child process that prints its URL; resolves to the URL and the process. */
function startChild(argv, pattern) {
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((ok, fail) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      const url = pattern.exec(stdout)?.[1];
      if (url) ok({ url, child, stderr: () => stderr });
    });
    child.on('exit', (code) => fail(new Error(`${argv.join(' ')} exited ${code}: ${stderr}`)));
  });
}

/** Stops a child and waits for it to exit. */
function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((ok) => {
    child.once('exit', ok);
    child.kill('SIGTERM');
  });
}

/** Resident set size of a process in MiB (Linux: /proc), or null where it cannot be read. */
function rssMiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

/**
 * The bare ceiling: parse the JSON body (the JSON header of a binary one), answer a fixed
 * small JSON.
 */
const BARE_SERVER = `
const http = require('node:http');
const answer = JSON.stringify({ model_name: 'bare', outputs: [] });
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const header = req.headers['inference-header-content-length'];
    JSON.parse(body.subarray(0, header === undefined ? body.length : Number(header)).toString('utf8'));
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log('on http://127.0.0.1:' + server.address().port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** One autocannon run; resolves to the numbers of the table. */
async function load({ url, body, headers = {}, connections = CONNECTIONS, amount, samples }) {
  // autocannon's own duration ends on its one-second tick: time the responses instead.
  let first;
  let last;
  let responses = 0;
  const result = await new Promise((ok, fail) => {
    const instance = autocannon(
      {
        url,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
        connections,
        amount,
        timeout: 30,
      },
      (err, done) => (err ? fail(err) : ok(done)),
    );
    instance.on('response', () => {
      last = performance.now();
      first ??= last;
      responses++;
    });
  });
  const codes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count]),
  );
  const answered = Object.values(codes).reduce((a, b) => a + b, 0);
  // From the first response to the last: responses - 1 intervals.
  const seconds = responses > 1 ? (last - first) / 1000 : Number.NaN;
  const rate = (count) => ((responses - 1) / responses) * (count / seconds);
  const ok = codes['200'] ?? 0;
  return {
    connections,
    requests: answered,
    seconds,
    requestsPerSecond: rate(answered),
    samplesPerSecond: rate(ok * samples),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    statusCodes: codes,
    rejected: codes['503'] ?? 0,
    errors: result.errors + result.timeouts + (answered - ok - (codes['503'] ?? 0)),
  };
}

/** Samples/s of onnxruntime-node's `session.run` on `[batch, ...sample]` inputs. */
async function ortThroughput(encoderPath, pixels, batch) {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(encoderPath, { executionProviders: ['cpu'] });
  try {
    const [input] = session.inputNames;
    const data = new Float32Array(batch * 784);
    for (let i = 0; i < data.length; i++) data[i] = pixels[i % pixels.length];
    const feed = { [input]: new ort.Tensor('float32', data, [batch, 28, 28, 1]) };
    for (let i = 0; i < 20; i++) await session.run(feed);
    let runs = 0;
    const start = performance.now();
    const until = start + ORT_SECONDS * 1000;
    while (performance.now() < until) {
      await session.run(feed);
      runs++;
    }
    const seconds = (performance.now() - start) / 1000;
    return {
      requests: runs,
      seconds,
      requestsPerSecond: runs / seconds,
      samplesPerSecond: (runs * batch) / seconds,
      p50Ms: null,
      p99Ms: null,
      errors: 0,
      rejected: 0,
    };
  } finally {
    await session.release();
  }
}

/** An infer request body of `rows` digits: JSON, or the binary tensor data extension. */
function inferBody(pixels, rows, binary) {
  const data = Array.from({ length: rows * 784 }, (_, i) => pixels[i % pixels.length]);
  const input = { name: 'input', shape: [rows, 28, 28, 1], datatype: 'FP32' };
  if (!binary) return { body: JSON.stringify({ inputs: [{ ...input, data }] }), headers: {} };
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ ...input, parameters: { binary_data_size: rows * 784 * 4 } }],
      outputs: [{ name: 'codings', parameters: { binary_data: true } }],
    }),
  );
  const bytes = Buffer.from(new Float32Array(data).buffer);
  return {
    body: Buffer.concat([header, bytes]),
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
    },
  };
}

/** Starts `aekit serve DIR ...options` on a free port. */
const startServe = (dir, ...options) =>
  startChild(
    [BIN, 'serve', dir, '--port', '0', '--device', 'cpu', '--log-level', 'error', ...options],
    /on (http:\/\/127\.0\.0\.1:\d+)/,
  );

async function main() {
  const started = new Date();
  const run = resolve(args.run);
  const name = run.split(/[\\/]/).pop();
  const repository = await ensureRepository(run, name);
  const { loadDataset } = await import('@aekit/core/node');
  const pixels = Array.from(
    loadDataset({ source: 'mnist', split: 'test', limit: 256, normalize: 'none' }).dataset.x,
  );
  const b1 = inferBody(pixels, 1, false);
  const b256 = inferBody(pixels, 256, false);
  const rows = [];
  const add = (id, what, numbers, ceiling) => {
    const row = { id, what, ...numbers, ceiling: ceiling ?? null };
    rows.push(row);
    log(`  ${id}: ${Math.round(numbers.requestsPerSecond)} requests/s`);
    return row;
  };

  log('bare node:http server ...');
  const bare = await startChild(['-e', BARE_SERVER], /on (http:\/\/127\.0\.0\.1:\d+)/);
  await load({ url: bare.url, body: b1.body, amount: Math.min(REQUESTS, 5_000), samples: 1 });
  const bareRow = add(
    'bare-http',
    'node:http: parse the batch-1 JSON body, answer a fixed JSON',
    await load({ url: bare.url, body: b1.body, amount: REQUESTS, samples: 1 }),
  );
  add(
    'bare-http-b256',
    'node:http: parse a batch-256 JSON body, 4 connections',
    await load({
      url: bare.url,
      body: b256.body,
      connections: 4,
      amount: REQUESTS_B256,
      samples: 256,
    }),
  );
  add(
    'bare-http-b256-binary',
    'node:http: receive a batch-256 binary body, parse its JSON header, 4 connections',
    await load({
      url: bare.url,
      ...inferBody(pixels, 256, true),
      connections: 4,
      amount: REQUESTS_B256,
      samples: 256,
    }),
  );
  await stop(bare.child);

  log('onnxruntime-node in-process ...');
  // The graph the server runs: raw pixels in, the normalisation folded in.
  const encoderPath = join(repository, `${name}-encoder`, '1', 'model.onnx');
  add('ort-b1', 'onnxruntime-node session.run, batch 1', {
    ...(await ortThroughput(encoderPath, pixels, 1)),
  });
  const ort256 = add('ort-b256', 'onnxruntime-node session.run, batch 256', {
    ...(await ortThroughput(encoderPath, pixels, 256)),
  });

  const url = (base) => `${base}/v2/models/${name}-encoder/infer`;
  const rss = {};
  log('aekit serve, dynamic batching ...');
  {
    const s = await startServe(repository, '--max-batch-size', '256');
    const target = url(s.url);
    await load({ url: target, body: b1.body, amount: Math.min(REQUESTS, 5_000), samples: 1 });
    rss.before = rssMiB(s.child.pid);
    add(
      'serve-b1-batched',
      `batch-1 JSON requests, ${CONNECTIONS} connections, max queue delay 2 ms`,
      await load({ url: target, body: b1.body, amount: REQUESTS, samples: 1 }),
      bareRow,
    );
    rss.after = rssMiB(s.child.pid);
    rss.requests = REQUESTS;
    const bin1 = inferBody(pixels, 1, true);
    add(
      'serve-b1-binary',
      `batch-1 binary requests and outputs, ${CONNECTIONS} connections`,
      await load({ url: target, ...bin1, amount: REQUESTS, samples: 1 }),
      bareRow,
    );
    add(
      'serve-b256',
      'batch-256 JSON requests, 4 connections',
      await load({
        url: target,
        body: b256.body,
        connections: 4,
        amount: REQUESTS_B256,
        samples: 256,
      }),
      ort256,
    );
    const bin256 = inferBody(pixels, 256, true);
    add(
      'serve-b256-binary',
      'batch-256 binary requests and outputs, 4 connections',
      await load({ url: target, ...bin256, connections: 4, amount: REQUESTS_B256, samples: 256 }),
      ort256,
    );
    await stop(s.child);
  }

  log('aekit serve, no batching ...');
  {
    const s = await startServe(repository, '--max-batch-size', '1', '--max-queue-delay', '0');
    const target = url(s.url);
    await load({ url: target, body: b1.body, amount: Math.min(REQUESTS, 5_000), samples: 1 });
    add(
      'serve-b1-unbatched',
      `batch-1 JSON requests, ${CONNECTIONS} connections, max batch size 1`,
      await load({ url: target, body: b1.body, amount: REQUESTS, samples: 1 }),
      bareRow,
    );
    await stop(s.child);
  }

  log('overload ...');
  let overload;
  {
    const s = await startServe(
      repository,
      ...['--max-batch-size', '1', '--max-queue-delay', '0'],
      ...['--max-queue-size', String(OVERLOAD_QUEUE)],
    );
    const target = url(s.url);
    const before = rssMiB(s.child.pid);
    const row = add(
      'overload',
      `${4 * OVERLOAD_QUEUE} connections against a queue of ${OVERLOAD_QUEUE}, no batching`,
      await load({
        url: target,
        body: b1.body,
        connections: 4 * OVERLOAD_QUEUE,
        amount: REQUESTS_OVERLOAD,
        samples: 1,
      }),
    );
    const ready = await fetch(`${s.url}/v2/health/ready`);
    overload = {
      queue: OVERLOAD_QUEUE,
      connections: 4 * OVERLOAD_QUEUE,
      rejected: row.rejected,
      readyAfter: ready.status === 200,
      alive: s.child.exitCode === null,
      rssBeforeMiB: before,
      rssAfterMiB: rssMiB(s.child.pid),
    };
    await stop(s.child);
  }

  for (const row of rows) {
    const c = row.ceiling;
    row.ratio =
      c === null
        ? null
        : c.id === 'bare-http'
          ? row.requestsPerSecond / c.requestsPerSecond
          : row.samplesPerSecond / c.samplesPerSecond;
    row.ceiling = c?.id ?? null;
  }
  const report = {
    kind: 'aekit-bench-serve',
    started: started.toISOString(),
    seconds: (Date.now() - started.getTime()) / 1000,
    quick,
    machine: {
      cpus: os.cpus().length,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      platform: `${os.platform()} ${os.arch()}`,
      node: process.version,
      note: 'server, load generator and bench share the same cores',
    },
    run,
    repository,
    model: `${name}-encoder`,
    rss,
    overload,
    rows,
  };
  const tmp = `${args.out}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(tmp, args.out);
  if (args.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${formatTable(report)}\n`);
}

const fmt = (v, digits = 0) =>
  v === null || v === undefined
    ? '-'
    : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The report as a Markdown table, with the machine and the RSS. */
function formatTable(report) {
  const head = ['case', 'requests/s', 'samples/s', 'p50 ms', 'p99 ms', 'errors', '503s', 'ratio'];
  const lines = [
    `aekit serve on ${report.machine.cpus} cores (${report.machine.cpu}), Node ${report.machine.node}, loopback; ${report.model}`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
  ];
  for (const r of report.rows) {
    const ratio = r.ratio === null ? '' : `${fmt(r.ratio * 100)}% of ${r.ceiling}`;
    lines.push(
      `| ${r.id} | ${fmt(r.requestsPerSecond)} | ${fmt(r.samplesPerSecond)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} | ${r.errors} | ${r.rejected} | ${ratio} |`,
    );
  }
  const { rss, overload } = report;
  lines.push(
    '',
    `server RSS: ${fmt(rss.before, 1)} MiB before, ${fmt(rss.after, 1)} MiB after ${fmt(rss.requests)} batch-1 requests`,
    `overload: ${overload.rejected} answered 503, ready afterwards: ${overload.readyAfter}, RSS ${fmt(overload.rssBeforeMiB, 1)} -> ${fmt(overload.rssAfterMiB, 1)} MiB`,
  );
  return lines.join('\n');
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exitCode = 1;
});
