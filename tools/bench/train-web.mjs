#!/usr/bin/env node
// `npm run bench:train-web [-- --samples N --epochs E --rounds R --layers 100,30 --profile]`:
// samples/s of training in headless Chromium as the playground's "Train here" trains (the
// stacked autoencoder, with its default layers, 784-100-30, unless --layers says; batches of
// 32, Adam, wasm on one thread). "stock" is the page as it trained before installFastKernels:
// tfjs-backend-wasm's own kernels (and Adam's fused step in JavaScript); "fast" calls
// `installFastKernels()` of `@aekit/trainers/browser` first. Each round loads the page afresh
// once each way, alternating, in one browser, so that both see the same machine load; the
// median of each side over the rounds is compared. --profile times every kernel of the last
// fast run and prints the costliest.
import { parseArgs } from 'node:util';
import { openTrainPage } from '../../packages/trainers/test/train-page/harness.mjs';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '3200' },
    epochs: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    layers: { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
});
const settings = {
  backend: 'wasm',
  samples: Number(values.samples),
  epochs: Number(values.epochs),
  batchSize: 32,
  seed: 1,
  ...(values.layers ? { options: { layers: values.layers } } : {}),
};
const rounds = Number(values.rounds);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const session = await openTrainPage(settings.samples);
const rates = { stock: [], fast: [] };
let profiled;
try {
  for (let round = 1; round <= rounds; round++) {
    for (const side of ['stock', 'fast']) {
      const last = round === rounds && side === 'fast';
      const r = await session.train(side === 'fast', {
        ...settings,
        profile: last && values.profile,
      });
      if (last) profiled = r;
      rates[side].push(r.samplesPerSecond);
      const losses = r.losses.map((l) => l.toFixed(4)).join(' ');
      console.log(
        `round ${round} ${side.padEnd(5)} ${r.samplesPerSecond.toFixed(0).padStart(7)} samples/s  losses ${losses}`,
      );
    }
  }
} finally {
  await session.close();
}
const stock = median(rates.stock);
const fast = median(rates.fast);
console.log(
  `\nstacked 784-${values.layers?.replaceAll(',', '-') ?? '(default layers)'}, batch 32, ${settings.samples} MNIST digits, ${settings.epochs} epochs (the first not timed), median of ${rounds}:`,
);
console.log(`  stock tfjs wasm  ${stock.toFixed(0)} samples/s`);
console.log(`  fast kernels     ${fast.toFixed(0)} samples/s`);
console.log(`  ratio            ${(fast / stock).toFixed(2)}x`);
if (values.profile && profiled) {
  console.log('\ncostliest kernels of the last fast run (ms over every epoch):');
  const rows = Object.entries(profiled.kernelMs).sort((a, b) => b[1] - a[1]);
  for (const [kernel, ms] of rows.slice(0, 15))
    console.log(`  ${ms.toFixed(1).padStart(8)}  ${kernel}`);
}
