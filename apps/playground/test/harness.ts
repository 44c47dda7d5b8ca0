import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import {
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
} from '../../../packages/runtime-web/src/test-utils/chromium.js';

/** The playground's folder. */
export const APP = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Preparing the assets trains and exports 13 models on a first run: about five minutes on 2
 * cores, more when the machine is busy (and the test files that build wait for one another:
 * one preparation runs at a time), so the hooks that build get more than the usual 3
 * minutes.
 */
export const PREPARE_TIMEOUT_MS = 15 * 60_000;

/**
 * Builds the playground into `out` as `npm run bundle` does: the models and the test images
 * made by aekit from the real MNIST files (cached), then Vite's production build.
 */
export async function buildPlayground(out: string): Promise<void> {
  execFileSync(process.execPath, [join(APP, 'scripts/prepare.mjs')], { stdio: 'inherit' });
  await build({
    root: APP,
    configFile: join(APP, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: out, emptyOutDir: true },
  });
}

/** A Chromium with a profile of its own (kept across visits: caches persist). */
export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Closes the browser and deletes its profile. */
  close(): Promise<void>;
}

/** Starts Debian's Chromium with a fresh persistent profile and a 1280x900 page. */
export async function openBrowser(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'aekit-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
