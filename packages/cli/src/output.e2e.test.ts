import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinVariants } from '@aekit/trainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fmt } from './output.js';
import { aekit, trainSmall } from './test-utils/aekit.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-output-e2e-'));
const run = join(dir, 'stacked');
let trained: Awaited<ReturnType<typeof aekit>>;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  trained = await trainSmall('stacked', run);
  expect(trained.code, trained.stderr).toBe(0);
});

describe('help that fits', () => {
  it('aekit train --help lists the general options and says where the variants’ are', async () => {
    const r = await aekit('train', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--epochs <n>');
    expect(r.stdout).not.toMatch(/^ +--layers/m);
    expect(r.stdout).not.toContain('--discriminator-layers');
    expect(r.stdout).toContain('`aekit train --variant NAME --help`');
  });

  it('--variant X --help shows X’s own options, descriptions and defaults only', async () => {
    const stacked = await aekit('train', '--variant', 'stacked', '--help');
    expect(stacked.code).toBe(0);
    expect(stacked.stdout).toContain('Options of stacked:');
    expect(stacked.stdout).toMatch(/--layers <integer\[\]>[\s\S]*?\(default:\s+100,30\)/);
    expect(stacked.stdout).not.toContain('the prior has as many dimensions');
    expect(stacked.stdout).not.toContain('--discriminator-layers');
    expect(stacked.stdout).toMatch(/--with <string\[\]>[\s\S]*?default:\s+none\)/);
    // Every default is shown or absent, never blank.
    expect(stacked.stdout).not.toMatch(/default:?\s*\)/);
    const adversarial = await aekit('train', '--variant', 'adversarial', '--help');
    expect(adversarial.stdout).toMatch(/the prior has as many\s+dimensions/);
    expect(adversarial.stdout).toMatch(/\(default:\s+256,8\)/);
    expect(adversarial.stdout).toContain('--discriminator-layers');
    const conv = await aekit('train', '--variant', 'conv', '--help');
    expect(conv.stdout).toContain('--filters');
    expect(conv.stdout).not.toMatch(/^\s+--layers/m);
  });

  it('an unknown variant with --help says which there are', async () => {
    const r = await aekit('train', '--variant', 'nope', '--help');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error [UnknownVariant]');
  });

  it('aekit variants is one line per variant and the shared options once', async () => {
    const r = await aekit('variants');
    expect(r.code).toBe(0);
    const names = builtinVariants.map((p) => p.name);
    for (const name of names) expect(r.stdout).toMatch(new RegExp(`^${name} +\\S`, 'm'));
    expect(r.stdout.match(/--layers /g)).toHaveLength(1);
    expect(r.stdout.match(/--noise-std /g)).toHaveLength(1);
    expect(r.stdout).not.toContain('default:');
    expect(r.stdout.trim().split('\n').length).toBeLessThan(60);
  });

  it('aekit variants X shows X’s options with X’s defaults', async () => {
    const r = await aekit('variants', 'stacked');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--layers <integer\[\]> +.*\(default: 100,30\)$/m);
    expect(r.stdout).toMatch(/--with <string\[\]> +.*default: none\)$/m);
    expect(r.stdout).not.toContain('[default: ]');
    expect(r.stdout).not.toContain('discriminator');
  });

  it('aekit sample --help names every variant that can sample, from the registry', async () => {
    const r = await aekit('sample', '--help');
    const sampling = builtinVariants
      .filter((p) => p.capabilities.includes('sample'))
      .map((p) => p.name)
      .sort();
    expect(sampling).toContain('adversarial');
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(`(variants: ${sampling.join(', ')})`);
  });
});

describe('numbers and progress', () => {
  it('train: the summary gives the loss as the epoch line does, the count in the singular, and explains *', () => {
    const metrics = readFileSync(join(run, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { loss: number; valLoss: number });
    const loss = fmt(metrics[0]!.loss);
    expect(trained.stdout).toContain(`(completed, 1 epoch, loss ${loss})`);
    expect(trained.stderr).toMatch(
      new RegExp(`^epoch 1/1 {2}loss ${loss} {2}val_loss ${fmt(metrics[0]!.valLoss)} \\*`, 'm'),
    );
    expect(trained.stderr).toContain('(*: the best val_loss so far');
  });

  it('aekit figures reports each figure as it starts', async () => {
    const r = await aekit(
      ...['figures', run, '--backend', 'wasm', '--dream-steps', '5', '--map-samples', '100'],
    );
    expect(r.code, r.stderr).toBe(0);
    for (const name of ['features', 'top-activations', 'dreams', 'map', 'loss']) {
      expect(r.stderr).toContain(`figures: drawing ${name}…`);
    }
    expect(r.stdout).toMatch(/^Figures of .* \([\d.]+s\):$/m);
  });
});

describe('aekit eval of a classifier run', () => {
  it('reports the classifier’s accuracy, not the reconstruction against the mean image', async () => {
    const cls = join(dir, 'cls');
    const classified = await aekit(
      ...['classify', run, '--labels-fraction', '0.02', '--epochs', '1'],
      ...['--backend', 'wasm', '--out', cls],
    );
    expect(classified.code, classified.stderr).toBe(0);
    const r = await aekit('eval', cls, '--backend', 'wasm');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/classifier: test accuracy 0\.\d{4} over 10 classes/);
    expect(r.stdout).not.toContain('baseline');
    expect(r.stdout).not.toContain('mean-image');
    // The autoencoder run it started from still gets the reconstruction report.
    const ae = await aekit('eval', run, '--backend', 'wasm');
    expect(ae.stdout).toMatch(
      /model \/ baseline MSE: [\d.]+ \(below 1: better than the mean image\)/,
    );
  });
});
