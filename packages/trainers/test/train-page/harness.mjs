// Builds the training page (index.html, main.ts) with Vite, serves it with the first MNIST
// training digits beside it, and trains in headless Chromium through Playwright: the shared
// part of the Chromium test (src/browser.test.ts) and `npm run bench:train-web`.
// `@aekit/trainers/browser` and `@aekit/core` resolve to their dist/: build them first.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '@aekit/core/node';
import { chromium } from 'playwright-core';
import { build } from 'vite';

const PAGE = dirname(fileURLToPath(import.meta.url));

/** Where Debian's Chromium is (`CHROMIUM_PATH` overrides it). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless as root, no network side traffic (as the other Chromium tests). */
const ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
};

/**
 * Builds the page into a temporary folder with the first `samples` MNIST training digits
 * (`mnist.f32`), serves it on localhost, and starts Chromium. Returns `train(fast, settings)`,
 * which loads the page afresh (with `?fast=1` or not) and returns its report, and `close()`.
 */
export async function openTrainPage(samples) {
  const out = await mkdtemp(join(tmpdir(), 'aekit-train-page-'));
  const profile = await mkdtemp(join(tmpdir(), 'aekit-chromium-'));
  let server;
  let context;
  const close = async () => {
    await context?.close();
    await new Promise((done) => (server ? server.close(done) : done()));
    await rm(out, { recursive: true, force: true });
    await rm(profile, { recursive: true, force: true });
  };
  try {
    await build({
      root: PAGE,
      configFile: false,
      logLevel: 'warn',
      build: { outDir: out, emptyOutDir: true, reportCompressedSize: false },
    });
    const { dataset } = loadDataset({ source: 'mnist', split: 'train', limit: samples });
    await writeFile(
      join(out, 'mnist.f32'),
      new Uint8Array(dataset.x.buffer, 0, dataset.x.byteLength),
    );
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const file = resolve(out, `.${path === '/' ? '/index.html' : path}`);
      if (!file.startsWith(out + sep)) {
        res.writeHead(403).end();
        return;
      }
      const stream = createReadStream(file);
      stream.on('error', () => res.writeHead(404).end());
      stream.on('open', () => {
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
        stream.pipe(res);
      });
    });
    await new Promise((done) => server.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${server.address().port}/`;
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ARGS,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const logs = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    let visits = 0;
    const train = async (fast, settings) => {
      await page.goto(`${url}?fast=${fast ? 1 : 0}&visit=${++visits}`);
      await page.waitForFunction(() => 'aekitTrain' in window);
      try {
        return await page.evaluate((s) => window.aekitTrain(s), settings);
      } catch (err) {
        throw new Error(`${err.message}\npage logs:\n${logs.join('\n')}`);
      }
    };
    return { train, logs, close };
  } catch (err) {
    await close();
    throw err;
  }
}
