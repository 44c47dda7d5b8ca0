#!/usr/bin/env node
// Encode throughput of an exported stacked autoencoder: @aekit/runtime-web on
// onnxruntime-node (cpu) next to the same trained tfjs model on wasm, in one run.
//
//   node tools/bench/encode.mjs [--seconds 2] [--json]
//
// Trains a small stacked AE (784-100-30-100-784) on MNIST, exports it, then times
// encode() at batch 1 and batch 256 on real test digits, each for about --seconds.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RunDirectory } from '@aekit/core/node';
import { exportRun } from '@aekit/export';
import { loadAutoencoder } from '@aekit/runtime-web';
import { loadEvaluationData, loadRunModel, selectBackend, train } from '@aekit/trainers';
import * as tf from '@tensorflow/tfjs-core';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '2' }, json: { type: 'boolean', default: false } },
});
const seconds = Number(values.seconds);
const log = (m) => process.stderr.write(`${m}\n`);

/** Calls `fn` repeatedly for about `seconds` (after a warm-up) and returns calls per second. */
async function rate(fn) {
  for (let i = 0; i < 5; i++) await fn();
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await fn();
    calls++;
  }
  return calls / ((performance.now() - start) / 1000);
}

const dir = mkdtempSync(join(os.tmpdir(), 'aekit-bench-encode-'));
try {
  const run = join(dir, 'stacked');
  log('training a stacked autoencoder (1 epoch, 2,000 digits) and exporting it…');
  await train({
    variant: 'stacked',
    data: 'mnist',
    limit: 2000,
    epochs: 1,
    backend: 'wasm',
    figures: false,
    out: run,
  });
  await exportRun(run);

  await selectBackend('wasm');
  const { model, manifest } = loadRunModel(new RunDirectory(run));
  const { heldOut } = loadEvaluationData(manifest);
  const x256 = heldOut.x.slice(0, 256 * 784);
  const x1 = heldOut.x.slice(0, 784);

  const ae = await loadAutoencoder(run, { device: 'cpu' });
  const rows = [];
  for (const batch of [1, 256]) {
    const data = batch === 1 ? x1 : x256;
    const ortRate = await rate(() => ae.encode({ data, shape: [batch, 28, 28, 1] }));
    const tfjsRate = await rate(async () => {
      const out = tf.tidy(() =>
        model.networks.encoder.predict(tf.tensor(data, [batch, 28, 28, 1])),
      );
      await out.data();
      out.dispose();
    });
    rows.push({
      batch,
      ortSamplesPerSecond: ortRate * batch,
      tfjsSamplesPerSecond: tfjsRate * batch,
      ratio: ortRate / tfjsRate,
    });
  }
  await ae.dispose();
  for (const net of Object.values(model.networks)) net.dispose();

  const machine = `${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores, node ${process.version}`;
  if (values.json) {
    console.log(JSON.stringify({ machine, seconds, rows }, null, 2));
  } else {
    console.log('Encode throughput, stacked encoder 784-100-30 (samples/s)');
    console.log('batch  onnxruntime-node cpu  tfjs wasm  ORT / tfjs');
    for (const r of rows) {
      console.log(
        `${String(r.batch).padStart(5)}  ${Math.round(r.ortSamplesPerSecond).toLocaleString('en').padStart(20)}  ${Math.round(r.tfjsSamplesPerSecond).toLocaleString('en').padStart(9)}  ${r.ratio.toFixed(2)}x`,
      );
    }
    console.log(`machine: ${machine}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
