import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { PassThrough } from 'node:stream';
import { createGzip } from 'node:zlib';

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

/**
 * What a static host compresses (text, JavaScript, JSON and WebAssembly); not the models'
 * `.onnx` files, which hosts serve as `application/octet-stream`, uncompressed.
 */
const COMPRESSIBLE = /^(text\/|application\/(json|wasm))/;

/** One response's body as it went over the wire. */
export interface Transfer {
  /** The path requested, without the query string. */
  readonly path: string;
  readonly status: number;
  /** Body bytes sent (after compression, when the response was compressed). */
  readonly bytes: number;
}

/** A running static file server. */
export interface StaticServer {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** Paths requested so far, in order, e.g. `GET /assets/x.wasm 200`. */
  readonly requests: string[];
  /** Every body sent so far, in the order the responses finished. */
  readonly transfers: Transfer[];
  /** Stops the server. */
  close(): Promise<void>;
}

/** Options of {@link serveStatic}. */
export interface StaticServerOptions {
  /** Extra response headers; COOP/COEP ({@link CROSS_ORIGIN_ISOLATION}) are sent unless false. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Send the cross-origin isolation headers (default true). */
  readonly crossOriginIsolated?: boolean;
  /** Gzip what a static host would (see {@link COMPRESSIBLE}) for clients that accept it. */
  readonly compress?: boolean;
  /** The `cache-control` header of a path (default `no-store` for every file). */
  readonly cacheControl?: (path: string) => string;
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
  const transfers: Transfer[] = [];
  const server = createServer((req, res) => {
    const answer = (status: number, file?: string, size?: number): void => {
      requests.push(`${req.method} ${req.url} ${status}`);
      if (!file) {
        res.writeHead(status, { ...headers, 'content-type': 'text/plain' }).end(String(status));
        return;
      }
      const type = TYPES[extname(file)] ?? 'application/octet-stream';
      const gzip =
        options.compress === true &&
        COMPRESSIBLE.test(type) &&
        /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      res.writeHead(status, {
        ...headers,
        'content-type': type,
        'cache-control': options.cacheControl?.(path) ?? 'no-store',
        ...(gzip ? { 'content-encoding': 'gzip', vary: 'accept-encoding' } : {}),
        ...(size !== undefined && !gzip ? { 'content-length': String(size) } : {}),
      });
      let bytes = 0;
      const counted = new PassThrough();
      counted.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      counted.on('end', () => transfers.push({ path, status, bytes }));
      const body = createReadStream(file);
      (gzip ? body.pipe(createGzip()) : body).pipe(counted).pipe(res);
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
          s = await stat(file);
        }
        answer(200, file, s.size);
      })
      .catch(() => answer(404));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    transfers,
    close: () =>
      new Promise<void>((done, fail) => {
        server.closeAllConnections();
        server.close((err) => (err ? fail(err) : done()));
      }),
  };
}
