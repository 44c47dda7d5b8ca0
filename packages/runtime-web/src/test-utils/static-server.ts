import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.map': 'application/json',
});

/** Headers that make a page cross-origin isolated (needed for wasm threads). */
export const CROSS_ORIGIN_ISOLATION: Readonly<Record<string, string>> = Object.freeze({
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
});

/** A running static file server. */
export interface StaticServer {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** Paths requested so far, in order, e.g. `GET /assets/x.wasm 200`. */
  readonly requests: string[];
  /** Stops the server. */
  close(): Promise<void>;
}

/** Options of {@link serveStatic}. */
export interface StaticServerOptions {
  /** Extra response headers; COOP/COEP ({@link CROSS_ORIGIN_ISOLATION}) are sent unless false. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Send the cross-origin isolation headers (default true). */
  readonly crossOriginIsolated?: boolean;
}

/**
 * Serves folders on localhost (an ephemeral port): `mounts` maps URL prefixes (`'/'`,
 * `'/models/'`) to folders, or is one folder served at `/`. `GET /` answers `index.html`;
 * the longest matching prefix wins; paths cannot leave their folder.
 */
export async function serveStatic(
  mounts: string | Readonly<Record<string, string>>,
  options: StaticServerOptions = {},
): Promise<StaticServer> {
  const table = Object.entries(typeof mounts === 'string' ? { '/': mounts } : mounts)
    .map(([prefix, dir]) => [prefix.endsWith('/') ? prefix : `${prefix}/`, resolve(dir)] as const)
    .sort((a, b) => b[0].length - a[0].length);
  const headers = {
    ...(options.crossOriginIsolated === false ? {} : CROSS_ORIGIN_ISOLATION),
    ...options.headers,
  };
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const answer = (status: number, file?: string): void => {
      requests.push(`${req.method} ${req.url} ${status}`);
      if (!file) {
        res.writeHead(status, { ...headers, 'content-type': 'text/plain' }).end(String(status));
        return;
      }
      res.writeHead(status, {
        ...headers,
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-store',
      });
      createReadStream(file).pipe(res);
    };
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const mount = table.find(([prefix]) => `${path}/`.startsWith(prefix));
    if (!mount || (req.method !== 'GET' && req.method !== 'HEAD')) return answer(404);
    const [prefix, root] = mount;
    let file = join(root, path.slice(prefix.length));
    if (file !== root && !file.startsWith(root + sep)) return answer(404);
    stat(file)
      .then(async (s) => {
        if (s.isDirectory()) {
          file = join(file, 'index.html');
          await stat(file);
        }
        answer(200, file);
      })
      .catch(() => answer(404));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise<void>((done, fail) => {
        server.closeAllConnections();
        server.close((err) => (err ? fail(err) : done()));
      }),
  };
}
