import { readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, createServer } from 'vite';
import { CROSS_ORIGIN_ISOLATION } from './static-server.js';

/** The test app (packages/runtime-web/test/app): a page that only uses `@aekit/runtime-web`. */
export const TEST_APP = resolve(dirname(fileURLToPath(import.meta.url)), '../../test/app');

/** One emitted file. */
export interface BuiltFile {
  /** Path relative to the output folder. */
  readonly path: string;
  /** Size in bytes. */
  readonly bytes: number;
}

async function listFiles(dir: string, root = dir): Promise<BuiltFile[]> {
  const out: BuiltFile[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full, root)));
    else out.push({ path: relative(root, full), bytes: (await stat(full)).size });
  }
  return out;
}

/** What {@link buildApp} produced. */
export interface BuiltApp {
  /** Every emitted file with its size. */
  readonly files: BuiltFile[];
  /** The id (absolute path, or `\0`-prefixed virtual id) of every module bundled into a chunk. */
  readonly modules: string[];
}

/**
 * Bundles the app in `root` (an `index.html` and its modules) with Vite in build mode, as
 * a user's production build would, into `outDir`. Packages resolve through node_modules and
 * their `exports`, so `@aekit/runtime-web` is its browser entry (dist/browser.js: build the
 * package first).
 */
export async function buildApp(root: string, outDir: string): Promise<BuiltApp> {
  const modules = new Set<string>();
  await build({
    root,
    configFile: false,
    logLevel: 'warn',
    plugins: [
      {
        name: 'aekit-test-list-modules',
        generateBundle(_options, bundle) {
          for (const item of Object.values(bundle)) {
            if (item.type === 'chunk') for (const id of item.moduleIds) modules.add(id);
          }
        },
      },
    ],
    build: {
      outDir,
      emptyOutDir: true,
      reportCompressedSize: false,
      chunkSizeWarningLimit: 100_000,
    },
  });
  return { files: await listFiles(outDir), modules: [...modules].sort() };
}

/** A running Vite dev server. */
export interface DevServer {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Serves the app in `root` with Vite's dev server (as `vite` / `npm run dev` would, with
 * dependency pre-bundling), cross-origin isolated. `publicDir` is served at `/`; Vite's
 * cache goes to `cacheDir` instead of the source tree.
 */
export async function serveAppDev(
  root: string,
  options: { readonly publicDir: string; readonly cacheDir: string },
): Promise<DevServer> {
  const server = await createServer({
    root,
    configFile: false,
    logLevel: 'warn',
    publicDir: options.publicDir,
    cacheDir: options.cacheDir,
    server: { host: '127.0.0.1', port: 0, headers: { ...CROSS_ORIGIN_ISOLATION }, hmr: false },
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('the Vite dev server has no local URL');
  return { url, close: () => server.close() };
}
