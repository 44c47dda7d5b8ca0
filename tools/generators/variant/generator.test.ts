/**
 * `nx g @aekit/tools:variant`, for real, in a scratch copy of the workspace: the scaffold
 * (inside @aekit/trainers, and as its own package) builds, passes its own tests and Biome;
 * with no other edit the CLI trains, exports and encodes it and the playground shows it.
 * `nx affected` on a branch that adds a variant to @aekit/trainers names trainers and what
 * depends on it, and nothing below it.
 */
import { type ExecFileSyncOptions, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset, readNpy, writeDataFile } from '@aekit/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchWorkspace } from '../../test-utils/scratch-workspace.js';

let ws: ReturnType<typeof scratchWorkspace>;
beforeAll(() => {
  ws = scratchWorkspace('aekit-generator-');
});
afterAll(() => ws?.dispose());

/** Runs a command in the scratch workspace; its output is returned, or shown if it fails. */
function run(command: string, args: string[], options: ExecFileSyncOptions = {}): string {
  try {
    return execFileSync(command, args, {
      cwd: ws.dir,
      encoding: 'utf8',
      stdio: 'pipe',
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', CI: 'true' },
      ...options,
    }) as string;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; status?: number };
    throw new Error(
      `${command} ${args.join(' ')} exited ${e.status}:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
    );
  }
}
const npx = (...args: string[]) => run('npx', ['--no-install', ...args]);
const aekit = (...args: string[]) => run(process.execPath, ['packages/cli/dist/bin.js', ...args]);

/**
 * Prepares the playground's model for `variant` (trained with its defaults, exported) and
 * returns its entry in the playground's model index.
 */
function playgroundModel(variant: string, plugins = ''): Record<string, unknown> | undefined {
  run(process.execPath, ['apps/playground/scripts/prepare.mjs', '--only', variant], {
    env: { ...process.env, AEKIT_PLUGINS: plugins },
  });
  const index = JSON.parse(
    readFileSync(join(ws.dir, 'apps/playground/public/models/index.json'), 'utf8'),
  ) as { models: Record<string, unknown>[] };
  return index.models.find((m) => m.name === variant);
}

/** Trains one epoch on 1,000 MNIST digits into `runDir`. */
function trainSmall(runDir: string, ...args: string[]): void {
  const small = ['--data', 'mnist', '--limit', '1000', '--epochs', '1', '--backend', 'wasm'];
  aekit('train', ...args, ...small, '--no-figures', '--out', runDir);
}

/** Encodes four MNIST test images with an exported run; returns the codings' shape. */
function encodeDigits(runDir: string): number[] {
  const { dataset } = loadDataset({ source: 'mnist', split: 'test', limit: 4, normalize: 'none' });
  const input = join(ws.dir, runDir, 'digits.npy');
  const output = join(ws.dir, runDir, 'codings.npy');
  writeDataFile(input, dataset.x, [4, 28, 28]);
  aekit('encode', runDir, '--input', input, '--output', output, '--device', 'cpu');
  const codings = readNpy(output);
  expect(codings.data.every(Number.isFinite)).toBe(true);
  return codings.shape;
}

describe('nx g @aekit/tools:variant', () => {
  it('refuses a name that is not kebab case, writing nothing', () => {
    expect(() => npx('nx', 'g', '@aekit/tools:variant', 'My_Variant', '--no-interactive')).toThrow(
      /kebab|pattern/i,
    );
    expect(ws.git('status', '--porcelain')).toBe('');
  });

  it('inside @aekit/trainers: builds, passes its tests and lint; the CLI and the playground pick it up', () => {
    ws.git('checkout', '-q', '-b', 'add-variant');
    npx('nx', 'g', '@aekit/tools:variant', 'my-variant', '--no-interactive');
    const folder = 'packages/trainers/src/variants/my-variant';
    for (const f of ['index.ts', 'my-variant.test.ts', 'README.md'])
      expect(existsSync(join(ws.dir, folder, f)), f).toBe(true);
    expect(readFileSync(join(ws.dir, 'packages/trainers/src/register-all.ts'), 'utf8')).toMatch(
      /myVariantVariant,\n\]\);/,
    );
    npx('biome', 'check', 'packages/trainers');
    npx('tsc', '-b', 'packages/trainers');
    // Options, and training on MNIST (export is checked below, through the CLI).
    // The main project only: where OpenBLAS is found the no-blas project runs them again.
    expect(npx('vitest', 'run', '--project', 'aekit', folder)).toMatch(
      /tests: 2 passed, 0 failed, 0 skipped/,
    );

    expect(aekit('variants')).toMatch(/my-variant/);
    const runDir = 'runs/my-variant';
    trainSmall(runDir, '--variant', 'my-variant', '--layers', '64,16', '--coding-penalty', '0.01');
    // The flags reached the variant's options, and its loss terms were logged.
    const manifest = JSON.parse(readFileSync(join(ws.dir, runDir, 'manifest.json'), 'utf8'));
    expect(manifest.options).toEqual({ layers: [64, 16], activation: 'elu', codingPenalty: 0.01 });
    const epoch = JSON.parse(readFileSync(join(ws.dir, runDir, 'metrics.jsonl'), 'utf8'));
    expect(epoch.penalty).toBeGreaterThan(0);
    expect(aekit('export', runDir)).toMatch(/autoencoder\.onnx/);
    expect(encodeDigits(runDir)).toEqual([4, 16]);

    // The playground trains a model of every variant it has no recipe for, and lists it.
    expect(playgroundModel('my-variant')).toMatchObject({
      variant: 'my-variant',
      codingShape: [32],
    });

    ws.git('add', '-A');
    ws.git('commit', '-qm', 'my-variant');
    const affected = npx('nx', 'show', 'projects', '--affected', '--base=main', '--json');
    const names = (JSON.parse(affected) as string[]).sort();
    expect(names).toContain('@aekit/trainers');
    expect(names).toContain('@aekit/cli');
    expect(names).toContain('@aekit/playground');
    for (const below of ['@aekit/core', '@aekit/export', '@aekit/runtime-web'])
      expect(names).not.toContain(below);
  }, 600_000);

  it('--external: its own package with peers; aekit and the playground load it by name', () => {
    npx(
      'nx',
      'g',
      '@aekit/tools:variant',
      'ext-variant',
      '--external',
      '--scope=@acme',
      '--skip-install',
      '--no-interactive',
    );
    const root = join(ws.dir, 'packages/variant-ext-variant');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('@acme/variant-ext-variant');
    expect(Object.keys(pkg.peerDependencies)).toEqual(
      expect.arrayContaining(['@aekit/core', '@aekit/trainers']),
    );
    expect(pkg.dependencies).toBeUndefined();
    // What `npm install` (skipped here: no registry needed) does for a new workspace package.
    mkdirSync(join(ws.dir, 'node_modules/@acme'), { recursive: true });
    symlinkSync(root, join(ws.dir, 'node_modules/@acme/variant-ext-variant'));
    npx('biome', 'check', 'packages/variant-ext-variant');
    npx('tsc', '-b', 'packages/variant-ext-variant');
    // Options, training on MNIST, and the ONNX export through @aekit/export.
    expect(npx('vitest', 'run', 'packages/variant-ext-variant')).toMatch(
      /tests: 3 passed, 0 failed, 0 skipped/,
    );

    const plugin = ['--plugin', '@acme/variant-ext-variant'];
    expect(aekit('variants', ...plugin)).toMatch(/ext-variant/);
    const runDir = 'runs/ext-variant';
    trainSmall(runDir, ...plugin, '--variant', 'ext-variant');
    // The manifest names the plugin, so later commands load it without --plugin.
    expect(aekit('export', runDir)).toMatch(/autoencoder\.onnx/);
    expect(encodeDigits(runDir)).toEqual([4, 32]);
    // A plugin named in AEKIT_PLUGINS shows in the playground too.
    expect(playgroundModel('ext-variant', '@acme/variant-ext-variant')).toMatchObject({
      variant: 'ext-variant',
    });
  }, 600_000);
});
