import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { CHROMIUM_PATH } from '../../../core/src/test-utils/requirements.js';

/** Debian's Chromium (it carries SwiftShader); `CHROMIUM_PATH` overrides it. */
export { CHROMIUM_PATH };

/**
 * The flags these machines need: headless as root, no network side traffic, and WebGPU
 * on SwiftShader (`--enable-unsafe-webgpu` gives `navigator.gpu` a software adapter).
 */
export const CHROMIUM_ARGS: readonly string[] = Object.freeze([
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
]);

/** What a {@link withChromium} callback gets beside the page. */
export interface ChromiumSession {
  /** The browser context (one fresh profile). */
  readonly context: BrowserContext;
  /** Console messages and page errors so far, `type: text`. */
  readonly logs: string[];
}

/**
 * Starts Debian's Chromium (Playwright, a fresh `--user-data-dir`), runs `fn` with a page,
 * and closes the browser and deletes the profile whatever happens; when `fn` fails, the
 * page's console is printed first.
 */
export async function withChromium<T>(
  fn: (page: Page, session: ChromiumSession) => Promise<T>,
  options: { readonly args?: readonly string[] } = {},
): Promise<T> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'aekit-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
  const logs: string[] = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    try {
      return await fn(page, { context, logs });
    } catch (err) {
      // What the page said is often why: shown with the failure.
      console.log(`[chromium] the page's console:\n${logs.join('\n')}`);
      throw err;
    }
  } finally {
    await context.close();
    await rm(userDataDir, { recursive: true, force: true });
  }
}
