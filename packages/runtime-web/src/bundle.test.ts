import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltFile, buildApp, TEST_APP } from './test-utils/vite-app.js';

const DIST_BROWSER = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/browser.js');

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

// What a web app that only runs models must not ship (DESIGN.md: runtime-web never pulls
// tfjs; the browser entry never imports onnxruntime-node or fs). Checked on the modules
// Vite bundled and on the import specifiers left in the output. (The text '@tensorflow'
// itself does appear: @aekit/core's error catalogue tells users how to install tfjs-node.)
const FORBIDDEN_MODULES =
  /onnxruntime-node|@tensorflow|[\\/]node_modules[\\/]fs[\\/]|^(node:)?fs(\/promises)?$/;
const FORBIDDEN_IMPORTS: readonly [string, RegExp][] = [
  ['onnxruntime-node', /(?:from|import|require)\s*\(?\s*["'`]onnxruntime-node/],
  ['fs', /(?:from|import|require)\s*\(?\s*["'`](?:node:)?fs(?:\/promises)?["'`]/],
  ['TensorFlow.js', /(?:from|import|require)\s*\(?\s*["'`]@tensorflow\//],
];

describe('the browser bundle of an app that only uses @aekit/runtime-web', () => {
  let out: string;
  let files: BuiltFile[];
  let modules: string[];

  beforeAll(async () => {
    if (!existsSync(DIST_BROWSER)) {
      throw new Error(`${DIST_BROWSER} is missing: build first (npx tsc -b packages/runtime-web).`);
    }
    out = mkdtempSync(join(tmpdir(), 'aekit-rtw-bundle-'));
    ({ files, modules } = await buildApp(TEST_APP, out));
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('holds no onnxruntime-node, no fs and no TensorFlow.js', () => {
    expect(modules.some((m) => m.endsWith('/runtime-web/dist/browser.js'))).toBe(true);
    expect(modules.some((m) => m.endsWith('/runtime-web/dist/node.js'))).toBe(false);
    expect(modules.filter((m) => FORBIDDEN_MODULES.test(m))).toEqual([]);
    const packages = new Set(
      modules.map((m) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(m)?.[1] ?? '(workspace)'),
    );
    console.log(`[runtime-web] bundled packages: ${[...packages].sort().join(', ')}`);
    const js = files.filter((f) => /\.m?js$/.test(f.path));
    expect(js.length).toBeGreaterThan(0);
    for (const file of js) {
      const text = readFileSync(join(out, file.path), 'utf8');
      for (const [what, pattern] of FORBIDDEN_IMPORTS) {
        expect(pattern.test(text), `${file.path} imports ${what}`).toBe(false);
      }
    }
  });

  it('ships one wasm per device, loaded on demand, and reports its size', () => {
    const js = files.filter((f) => /\.m?js$/.test(f.path));
    const wasm = files.filter((f) => f.path.endsWith('.wasm'));
    const total = (list: BuiltFile[]) => list.reduce((a, f) => a + f.bytes, 0);
    const gz = (f: BuiltFile) => gzipSync(readFileSync(join(out, f.path))).length;
    console.log(
      [
        `[runtime-web] Vite build of test/app: JS ${kb(total(js))} in ${js.length} files, wasm ${mb(total(wasm))} in ${wasm.length} files (gzip in parentheses)`,
        ...js.map((f) => `  js    ${f.path.padEnd(52)} ${kb(f.bytes).padStart(9)} (${kb(gz(f))})`),
        ...wasm.map(
          (f) => `  wasm  ${f.path.padEnd(52)} ${mb(f.bytes).padStart(9)} (${mb(gz(f))})`,
        ),
      ].join('\n'),
    );
    // 'wasm' runs on onnxruntime-web/wasm, 'webgpu' on onnxruntime-web/webgpu: two wasm
    // files, of which a page downloads the one its device needs.
    expect(wasm.map((f) => f.path.replace(/-[\w-]{8}\.wasm$/, '.wasm')).sort()).toEqual([
      'assets/ort-wasm-simd-threaded.asyncify.wasm',
      'assets/ort-wasm-simd-threaded.wasm',
    ]);
    // The page's own chunk holds aekit's layer only (44 KB minified with the hash index
    // code); ONNX Runtime, hundreds of KB, comes in dynamic chunks.
    const entry = js.find((f) => /^assets\/index-[\w-]+\.js$/.test(f.path));
    expect(entry).toBeDefined();
    expect(entry!.bytes).toBeLessThan(64 * 1024);
    const entryText = readFileSync(join(out, entry!.path), 'utf8');
    expect(entryText).toMatch(/import\(["'`]\.\/ort\.wasm\.bundle\.min-[\w-]+\.js["'`]\)/);
    expect(entryText).toMatch(/import\(["'`]\.\/ort\.webgpu\.bundle\.min-[\w-]+\.js["'`]\)/);
    // `{ worker: true }`: Vite emits the module worker as a chunk of its own (holding its own
    // copy of onnxruntime-web's JS, which loads the same .wasm files); the page imports the
    // worker's client, with comlink, only when a model asks for a worker.
    expect(js.some((f) => /^assets\/worker-[\w-]+\.js$/.test(f.path))).toBe(true);
    expect(entryText).toMatch(/import\(["'`]\.\/worker-client-[\w-]+\.js["'`]\)/);
  });
});
