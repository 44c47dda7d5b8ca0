import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aekit } from './test-utils/aekit.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-plugins-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The example plugin of docs/plugins.md: a k-sparse autoencoder, as a plain ES module. */
const EXAMPLE = resolve(import.meta.dirname, '../../../docs/examples/variant-k-sparse/index.js');

describe('variant plugins from outside the repository packages', () => {
  it('--plugin registers the variant: aekit variants lists it and train takes its options', async () => {
    const listed = await aekit('variants', '--plugin', EXAMPLE);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^k-sparse +k-sparse autoencoder$/m);
    const help = await aekit('train', '--plugin', EXAMPLE, '--variant', 'k-sparse', '--help');
    expect(help.stdout).toContain('Options of k-sparse:');
    expect(help.stdout).toMatch(/--k <integer> +units kept per sample in\s+training/);
  });

  it('trains with it, records it in the run, and eval and export find it there', async () => {
    const run = join(dir, 'ks');
    const trained = await aekit(
      ...['train', '--plugin', EXAMPLE, '--variant', 'k-sparse', '--k', '8', '--hidden', '64'],
      ...['--data', 'mnist', '--limit', '2000', '--epochs', '2', '--backend', 'wasm'],
      ...['--no-figures', '--out', run],
    );
    expect(trained.code, trained.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ variant: 'k-sparse', plugins: [EXAMPLE] });
    const metrics = readFileSync(join(run, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // 8 of 64 units kept per sample: a nonzero fraction of 0.125 (less only where a kept
    // value is exactly 0, which a linear layer practically never gives).
    for (const m of metrics) expect(m.nonzero).toBeCloseTo(0.125, 3);
    // No --plugin: the manifest says which module to import.
    const evaluated = await aekit('eval', run, '--backend', 'wasm', '--json');
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(JSON.parse(evaluated.stdout).variant).toBe('k-sparse');
    const exported = await aekit('export', run);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/autoencoder\.onnx {2}input -> reconstruction/);
  });

  it('explains a plugin that cannot be loaded or registers nothing', async () => {
    const missing = await aekit('variants', '--plugin', '@nobody/variant-nothing');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      '--plugin @nobody/variant-nothing: the module cannot be loaded',
    );
    const empty = join(dir, 'empty.mjs');
    writeFileSync(empty, 'export const answer = 42;\n');
    const nothing = await aekit('variants', '--plugin', empty);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('the module registered no variant');
  });
});
