import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinVariants } from '@aekit/trainers';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { aekit } from './test-utils/aekit.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('aekit train + eval (the user journey)', () => {
  const run = join(dir, 'mnist-stacked');

  it('trains the stacked autoencoder on 5,000 MNIST digits and beats half the mean-image baseline', async () => {
    const trained = await aekit(
      'train',
      '--variant',
      'stacked',
      '--data',
      'mnist',
      '--epochs',
      '3',
      '--limit',
      '5000',
      '--out',
      run,
    );
    expect(trained.stderr).toMatch(/epoch 3\/3 {2}loss/);
    expect(trained.code).toBe(0);
    expect(trained.stdout).toContain('Run written to');
    for (const file of [
      'manifest.json',
      'metrics.jsonl',
      'checkpoints/last.ckpt',
      'model/encoder/model.json',
      'model/decoder/weights.bin',
    ]) {
      expect(existsSync(join(run, file)), file).toBe(true);
    }
    const metrics = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(metrics).toHaveLength(3);

    const evaluated = await aekit('eval', run, '--json');
    expect(evaluated.code).toBe(0);
    const report = JSON.parse(evaluated.stdout) as {
      mse: number;
      baseline: { mse: number };
      mseRatio: number;
      split: string;
      samples: number;
    };
    expect(report.split).toBe('test');
    expect(report.samples).toBe(10000);
    // PyTorch with Adam 1e-3 on the same data reaches 0.47 of the baseline; the issue asks < 0.5.
    expect(report.mse).toBeLessThan(0.5 * report.baseline.mse);
    expect(report.mseRatio).toBeCloseTo(report.mse / report.baseline.mse, 10);
  });

  it('draws reconstructions.png (originals above, reconstructions below) and loss.png', () => {
    const recon = PNG.sync.read(readFileSync(join(run, 'figures', 'reconstructions.png')));
    expect(recon.width).toBeGreaterThan(recon.height * 4); // ten digits side by side, two rows
    const loss = PNG.sync.read(readFileSync(join(run, 'figures', 'loss.png')));
    expect(loss.width).toBeGreaterThan(400);
    // A chart has ink: count non-white pixels.
    let ink = 0;
    for (let i = 0; i < loss.data.length; i += 4) if (loss.data[i]! < 200) ink++;
    expect(ink).toBeGreaterThan(1000);
  });

  it('prints a readable evaluation table', async () => {
    const evaluated = await aekit('eval', run);
    expect(evaluated.code).toBe(0);
    expect(evaluated.stdout).toMatch(/mean-image/);
    expect(evaluated.stdout).toMatch(/model \/ baseline MSE: 0\.\d+/);
  });
});

describe('aekit errors say what went wrong and what to do', () => {
  it('lists the known variants for an unknown one', async () => {
    const r = await aekit('train', '--variant', 'nope', '--out', join(dir, 'x'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error [UnknownVariant]');
    const names = builtinVariants.map((v) => `"${v.name}"`).sort();
    expect(r.stderr).toContain(`Known variants: ${names.join(', ')}`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('names the bad variant option', async () => {
    const r = await aekit(
      'train',
      '--variant',
      'stacked',
      '--layers',
      '100,abc',
      '--out',
      join(dir, 'x'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error [InvalidVariantOptions]');
    expect(r.stderr).toContain('--layers (item 2)');
  });

  it('rejects an option the chosen variant does not take', async () => {
    const r = await aekit(
      'train',
      '--variant',
      'linear',
      '--layers',
      '100,30',
      '--out',
      join(dir, 'x'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error [UnknownOption]');
    expect(r.stderr).toContain('--coding-size');
  });

  it('rejects a non-numeric --epochs', async () => {
    const r = await aekit(
      'train',
      '--variant',
      'stacked',
      '--epochs',
      'ten',
      '--out',
      join(dir, 'x'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--epochs must be a number');
  });

  it('says how to get Fashion-MNIST when its files are missing', async () => {
    const r = await aekit(
      'train',
      '--variant',
      'stacked',
      '--data',
      'fashion-mnist',
      '--data-dir',
      join(dir, 'nowhere'),
      '--out',
      join(dir, 'x'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error [DatasetNotFound]');
    expect(r.stderr).toContain('apt-get install dataset-fashion-mnist');
  });

  it('reports a missing run to eval', async () => {
    const r = await aekit('eval', join(dir, 'missing'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error [RunNotFound]');
  });

  it('lists the variants with their options', async () => {
    const r = await aekit('variants', '--json');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { name: string; options: { flag: string }[] }[];
    expect(list.map((v) => v.name)).toEqual(builtinVariants.map((v) => v.name).sort());
    const stacked = list.find((v) => v.name === 'stacked')!;
    expect(stacked.options.map((o) => o.flag)).toContain('layers');
    expect(stacked.options.map((o) => o.flag)).toContain('with');
  });
});
