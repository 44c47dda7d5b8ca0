/**
 * No dependency runs an install script in this repository: `.npmrc` sets `ignore-scripts`
 * (npm 10, Node 20's, and later) and package.json's `allowScripts` denies each script by
 * name (npm 11 and later). The script that matters is onnxruntime-node's: it downloads the
 * CUDA and TensorRT providers from NuGet (offline: `ENOTFOUND api.nuget.org`), while its
 * CPU and WebGPU providers ship in the package.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OnnxModelBuilder } from '@aekit/export';
import { afterAll, describe, expect, it } from 'vitest';
import { CLEAN_ENV, npm } from './test-utils/npm.js';
import { ROOT } from './test-utils/scratch-workspace.js';

const ROOT_PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  allowScripts?: Record<string, boolean>;
};
const ORT_VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'packages/export/package.json'), 'utf8')) as {
    peerDependencies: Record<string, string>;
  }
).peerDependencies['onnxruntime-node']!;

/** onnxruntime-node's files that its install script downloads (Linux x64: the CUDA 12 EP). */
const DOWNLOADED = /providers_(cuda|tensorrt|shared)/;

/** The native files of the onnxruntime-node under `nodeModules`, for this platform. */
function ortBinaries(nodeModules: string): string[] {
  return readdirSync(
    join(nodeModules, 'onnxruntime-node', 'bin', 'napi-v6', process.platform, process.arch),
  );
}

/** y = 2 x W + b for x of shape [N, 3]: a model every ONNX Runtime runs. */
const MODEL = new OnnxModelBuilder('affine')
  .addInput('x', ['N', 3])
  .addFloatInitializer('w', [3, 2], Float32Array.of(1, 2, 3, 4, 5, 6))
  .addFloatInitializer('b', [2], Float32Array.of(0.5, -0.5))
  .addNode({ op: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['y'] })
  .addNode({ op: 'Add', inputs: ['y', 'y'], outputs: ['y2'] })
  .addOutput('y2', ['N', 2])
  .encode();
/** What it gives for x = [[1, 0, 0], [0, 1, -1]]: 2 (x W + b). */
const EXPECTED = [3, 3, -3, -5];

const scratch = mkdtempSync(join(tmpdir(), 'aekit-install-scripts-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * Runs MODEL in a new Node process with the onnxruntime-node under `nodeModules` (CPU
 * execution provider); returns the output values.
 */
function runWithOrt(nodeModules: string): number[] {
  const model = join(scratch, 'model.onnx');
  writeFileSync(model, MODEL);
  const script = `const ort = require(${JSON.stringify(join(nodeModules, 'onnxruntime-node'))});
const { readFileSync } = require('node:fs');
(async () => {
  const s = await ort.InferenceSession.create(readFileSync(${JSON.stringify(model)}), { executionProviders: ['cpu'] });
  const x = new ort.Tensor('float32', Float32Array.of(1, 0, 0, 0, 1, -1), [2, 3]);
  const out = await s.run({ x });
  console.log(JSON.stringify(Array.from(out.y2.data)));
})();
`;
  return JSON.parse(
    execFileSync(process.execPath, ['-e', script], {
      cwd: scratch,
      encoding: 'utf8',
      env: CLEAN_ENV,
    }),
  );
}

describe("this repository's install scripts", () => {
  it('.npmrc holds only settings npm knows, and turns install scripts off', () => {
    const { stdout, stderr } = npm(ROOT, ['config', 'get', 'ignore-scripts']);
    expect(stdout.trim()).toBe('true');
    // npm 11 warns about settings it does not know ("will stop working in the next major").
    expect(stderr).not.toMatch(/Unknown (project |user )?config/i);
  });

  it("package.json's allowScripts denies every installed package that has an install script", () => {
    const { stdout } = npm(ROOT, [
      'query',
      ':attr(scripts, [preinstall]), :attr(scripts, [install]), :attr(scripts, [postinstall])',
    ]);
    const withScripts = [...new Set((JSON.parse(stdout) as { name: string }[]).map((n) => n.name))];
    expect(withScripts).toContain('onnxruntime-node');
    // Each name is a deliberate entry; a new dependency with a script must be added (and its
    // script looked at: see README.md, "Developing").
    expect(Object.keys(ROOT_PACKAGE.allowScripts ?? {}).sort()).toEqual(withScripts.sort());
    expect(ROOT_PACKAGE.allowScripts?.['onnxruntime-node']).toBe(false);
  });

  it("the workspace's onnxruntime-node has no CUDA download and runs a model", () => {
    expect(ortBinaries(join(ROOT, 'node_modules')).filter((f) => DOWNLOADED.test(f))).toEqual([]);
    expect(runWithOrt(join(ROOT, 'node_modules'))).toEqual(EXPECTED);
  });
});

describe('onnxruntime-node installs without its CUDA download, offline or not', () => {
  /** A fresh project that depends on onnxruntime-node, with this repository's settings. */
  function install(name: string, options: { npmrc: boolean; npmVersion?: number }): string {
    const root = join(scratch, name);
    mkdirSync(root);
    const pkg = {
      name,
      private: true,
      dependencies: { 'onnxruntime-node': ORT_VERSION },
      allowScripts: ROOT_PACKAGE.allowScripts,
    };
    writeFileSync(join(root, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
    if (options.npmrc) copyFileSync(join(ROOT, '.npmrc'), join(root, '.npmrc'));
    npm(root, ['install', '--no-audit', '--no-fund'], options.npmVersion);
    return root;
  }

  it.each([
    ["npm 10 (Node 20's), .npmrc and allowScripts", 10],
    ['the npm on the PATH, .npmrc and allowScripts', undefined],
  ] as const)(
    '%s',
    (_, npmVersion) => {
      const app = install(`ort-${npmVersion ?? 'path'}`, { npmrc: true, npmVersion });
      const files = ortBinaries(join(app, 'node_modules'));
      expect(files.length).toBeGreaterThan(0);
      expect(files.filter((f) => DOWNLOADED.test(f))).toEqual([]);
      expect(runWithOrt(join(app, 'node_modules'))).toEqual(EXPECTED);
    },
    240_000,
  );

  // npm 11 knows allowScripts: its denial alone keeps the script from running (npm 11 still
  // runs scripts that no entry covers, with a notice).
  const knowsAllowScripts =
    npm(tmpdir(), ['config', 'get', 'strict-allow-scripts']).stdout.trim() !== 'undefined';
  it.skipIf(!knowsAllowScripts)(
    'the npm on the PATH, allowScripts alone',
    () => {
      const app = install('ort-allow-scripts', { npmrc: false });
      expect(ortBinaries(join(app, 'node_modules')).filter((f) => DOWNLOADED.test(f))).toEqual([]);
      expect(runWithOrt(join(app, 'node_modules'))).toEqual(EXPECTED);
    },
    240_000,
  );
});
