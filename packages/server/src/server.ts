/**
 * The HTTP server: the Open Inference Protocol's REST routes (health, metadata, infer) over
 * the model table, aekit's `sample` route, `/metrics`, with a {@link Batcher} per model.
 */
import { createRequire } from 'node:module';
import { aekitError, aekitErrorWithCause, isAekitError } from '@aekit/core/errors';
import { type HashIndex, type LoadOptions, loadHashIndex } from '@aekit/runtime-web';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { Batcher } from './batcher.js';
import { createMetrics } from './metrics.js';
import { type LoadedModels, type ModelSource, modelSource, type ServedModel } from './models.js';
import {
  BINARY_HEADER,
  binaryResponseOutput,
  checkInferenceRequest,
  type Float32Tensor,
  type InferenceResponse,
  ProtocolError,
  responseOutput,
  splitBinaryRequest,
  tensorBytes,
} from './protocol.js';

const { version: VERSION } = createRequire(import.meta.url)('../package.json') as {
  version: string;
};

/** The defaults of {@link ServerOptions}. */
export const SERVER_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 8000,
  maxBatchSize: 64,
  maxQueueDelayMs: 2,
  maxQueueSize: 256,
  queueTimeoutMs: 30_000,
  requestTimeoutMs: 60_000,
  logLevel: 'warn',
  device: 'cpu',
});

/** Options of {@link createServer} and {@link serve}. */
export interface ServerOptions {
  /**
   * What to serve: model sources, or paths of model repositories and exported run
   * directories (`modelSource`).
   */
  readonly models: readonly (ModelSource | string)[];
  /**
   * Hash indexes to search (`POST /v2/models/NAME-encoder/nearest`), by the name of the
   * autoencoder whose codes they hold (`NAME`): a file `aekit hash` wrote, or a loaded index.
   */
  readonly indexes?: Readonly<Record<string, string | HashIndex>>;
  /** Interface to listen on (default `127.0.0.1`: this machine only). */
  readonly host?: string;
  /** Port (default 8000; 0 picks a free one). */
  readonly port?: number;
  /** Where ONNX Runtime runs (`loadAutoencoder`'s `device`; default `cpu`). */
  readonly device?: string;
  /**
   * Further ONNX Runtime session options of every model (`loadAutoencoder`'s
   * `sessionOptions`), e.g. `{ intraOpNumThreads: 1 }`.
   */
  readonly sessionOptions?: LoadOptions['sessionOptions'];
  /** Most samples in one batch run, and in one request (default 64). */
  readonly maxBatchSize?: number;
  /** How long a request waits for others to batch with, in ms (default 2; 0: no waiting). */
  readonly maxQueueDelayMs?: number;
  /** Most requests waiting per model; more are answered 503 with `Retry-After` (default 256). */
  readonly maxQueueSize?: number;
  /** Longest a request waits in the queue before it is answered 503, in ms (default 30 000). */
  readonly queueTimeoutMs?: number;
  /** Longest the server takes to receive a whole request, in ms (default 60 000). */
  readonly requestTimeoutMs?: number;
  /** Largest request body in bytes (default: sized from the largest batch of the largest model). */
  readonly bodyLimit?: number;
  /** pino log level: `fatal`, `error`, `warn` (default), `info`, `debug`, `trace`, `silent`. */
  readonly logLevel?: string;
  /** Told of each batch run: the model, how many requests and samples it served. */
  readonly onBatch?: (model: string, requests: number, samples: number) => void;
}

/** A server made by {@link createServer}. */
export interface AekitServer {
  /** The fastify instance (for `inject` in tests, or more routes). */
  readonly app: FastifyInstance;
  /** The names of the models served. */
  readonly models: readonly string[];
  /** What the sources passed over and why (`aekit serve` prints them). */
  readonly skipped: readonly string[];
  /** The Prometheus registry behind `/metrics`. */
  readonly metrics: Registry;
  /** Starts listening; resolves to the base URL, e.g. `http://127.0.0.1:8000`. */
  listen(): Promise<string>;
  /**
   * Stops taking connections, answers the requests in flight, then releases the models.
   * Safe to call twice.
   */
  close(): Promise<void>;
}

/** What JSON bytes one value of a request body can take, generously (`-1.2345678e-12, `). */
const BYTES_PER_VALUE = 32;

function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min || value > 2 ** 31) {
    throw aekitError('InvalidArgument', `${name} must be an integer >= ${min}, not ${value}.`);
  }
  return value;
}

/** A request body of the binary tensor data extension: its JSON header and the bytes after. */
class BinaryBody {
  constructor(
    readonly header: unknown,
    readonly binary: Uint8Array,
  ) {}
}

/** A body's JSON: the header of a binary request, or the whole body. */
const jsonOf = (body: unknown) => (body instanceof BinaryBody ? body.header : body);

/**
 * An inference response with outputs as bytes (the binary extension): the JSON header,
 * then the outputs' bytes in the order listed; its length goes in the response's
 * `Inference-Header-Content-Length`.
 */
function binaryResponse(
  response: InferenceResponse,
  tensors: Readonly<Record<string, Float32Tensor>>,
  binary: readonly string[],
): { headerLength: number; body: Buffer } {
  const header = Buffer.from(JSON.stringify(response));
  const parts = [header, ...binary.map((name) => tensorBytes(tensors[name]!))];
  return { headerLength: header.length, body: Buffer.concat(parts) };
}

/**
 * The hash index for autoencoder `name`, loaded and checked against its encoder.
 *
 * @throws AekitError `InvalidArgument` (no such autoencoder, one that does not hash, codes of
 *   another width), `InvalidHashIndex` (a file that cannot be read).
 */
async function hashIndexFor(
  name: string,
  source: string | HashIndex,
  encoder: ServedModel | undefined,
): Promise<HashIndex> {
  if (!encoder?.nearest) {
    throw aekitError(
      'InvalidArgument',
      encoder
        ? `--index ${name}=…: "${name}" does not hash (its run declares no hash capability).`
        : `--index ${name}=…: no model "${name}-encoder" is served; name the autoencoder (NAME of NAME-encoder).`,
    );
  }
  const index = typeof source === 'string' ? await loadHashIndex(source) : source;
  const bits = encoder.aekit.codingShape.reduce((a, b) => a * b, 1);
  if (index.codes.bits !== bits) {
    throw aekitError(
      'InvalidArgument',
      `--index ${name}=…: the index holds ${index.codes.bits}-bit codes, but ${name}-encoder makes ${bits}-bit codes; build it with this model (aekit hash).`,
    );
  }
  return index;
}

/** Sends a protocol error as `{ "error": message }`. */
function sendError(reply: FastifyReply, err: ProtocolError): FastifyReply {
  if (err.retryAfter !== undefined) reply.header('Retry-After', String(err.retryAfter));
  return reply.code(err.status).send({ error: err.message });
}

/**
 * Loads the models and builds the server (not yet listening).
 *
 * @throws AekitError `ModelLoadFailed` (a run that is not exported, files that do not
 *   load), `InvalidArgument` (options out of range, two models of one name).
 */
export async function createServer(options: ServerOptions): Promise<AekitServer> {
  const o = { ...SERVER_DEFAULTS, ...options };
  const maxBatchSize = checkCount('maxBatchSize', o.maxBatchSize, 1);
  const maxQueueSize = checkCount('maxQueueSize', o.maxQueueSize, 1);
  const maxQueueDelayMs = checkCount('maxQueueDelayMs', o.maxQueueDelayMs, 0);
  const queueTimeoutMs = checkCount('queueTimeoutMs', o.queueTimeoutMs, 1);
  const requestTimeoutMs = checkCount('requestTimeoutMs', o.requestTimeoutMs, 1);
  checkCount('port', o.port, 0);
  if (o.models.length === 0) throw aekitError('InvalidArgument', 'no models to serve.');
  const sources = o.models.map((m) => (typeof m === 'string' ? modelSource(m) : m));

  const loaded: LoadedModels[] = [];
  const release = () => Promise.allSettled(loaded.map((l) => l.close()));
  const table = new Map<string, { model: ServedModel; batcher: Batcher }>();
  const indexes = new Map<string, HashIndex>();
  const metrics = createMetrics(function* () {
    for (const [name, { batcher }] of table) yield [name, batcher.depth] as const;
  });
  try {
    for (const source of sources) {
      const models = await source.load({
        device: o.device,
        ...(o.sessionOptions ? { sessionOptions: o.sessionOptions } : {}),
      });
      loaded.push(models);
      for (const model of models.models) {
        if (table.has(model.name)) {
          throw aekitError(
            'InvalidArgument',
            `two models are named "${model.name}" (the second from ${source.description}): give each run its own name.`,
          );
        }
        const batchSize = metrics.batchSize.labels(model.name);
        const batchRequests = metrics.batchRequests.labels(model.name);
        const batcher = new Batcher(
          (inputs, outputs) => model.run(inputs, outputs),
          { maxBatchSize, maxQueueDelayMs, maxQueueSize, queueTimeoutMs },
          (requests, samples) => {
            batchSize.observe(samples);
            batchRequests.observe(requests);
            o.onBatch?.(model.name, requests, samples);
          },
        );
        table.set(model.name, { model, batcher });
      }
    }
    for (const [name, source] of Object.entries(o.indexes ?? {})) {
      indexes.set(name, await hashIndexFor(name, source, table.get(`${name}-encoder`)?.model));
    }
  } catch (err) {
    await release();
    throw err;
  }

  const skipped = loaded.flatMap((l) => l.skipped ?? []);
  const largest = Math.max(...[...table.values()].map((e) => e.model.valuesPerSample));
  const bodyLimit = o.bodyLimit ?? maxBatchSize * largest * BYTES_PER_VALUE + 64 * 1024;
  const app = Fastify({
    logger: { level: o.logLevel },
    bodyLimit,
    requestTimeout: requestTimeoutMs,
    return503OnClosing: true,
  });
  let closing = false;

  // Every body is JSON, whatever its content type says (curl -d sends form encoding), or
  // with Inference-Header-Content-Length a JSON header and tensor bytes (binary extension).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    const headerLength = request.headers[BINARY_HEADER];
    if (typeof headerLength === 'string') {
      try {
        const { header, binary } = splitBinaryRequest(bytes, headerLength);
        done(null, new BinaryBody(header, binary));
      } catch (err) {
        done(err as Error);
      }
      return;
    }
    try {
      done(null, bytes.length === 0 ? undefined : JSON.parse(bytes.toString('utf8')));
    } catch (err) {
      done(new ProtocolError(400, `the request body is not JSON: ${(err as Error).message}`));
    }
  });
  app.setErrorHandler((err, request, reply) => {
    if (err instanceof ProtocolError) return sendError(reply, err);
    // What the runtime refuses in a request (a sampling temperature, a search radius, 0..255
    // pixels sent to a model that takes them divided by 255).
    if (isAekitError(err, 'InvalidArgument') || isAekitError(err, 'InputScaleMismatch')) {
      return sendError(reply, new ProtocolError(400, err.message));
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return sendError(reply, new ProtocolError(status, (err as Error).message));
    }
    request.log.error(err);
    return sendError(reply, new ProtocolError(500, (err as Error).message));
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new ProtocolError(404, `no route ${request.method} ${request.url}.`)),
  );
  // While closing, answers end their connection, so that keep-alive does not hold the close.
  // (Callback hooks: an async one costs a promise per request.)
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('Connection', 'close');
    done(null, payload);
  });
  // prom-client hashes the labels of every call: keep one child per label set instead.
  const counted = new Map<string, { inc(): void }>();
  const timed = new Map<string, { observe(value: number): void }>();
  app.addHook('onResponse', (request, reply, done) => {
    const name = (request.params as { name?: string } | undefined)?.name;
    const model = name !== undefined && table.has(name) ? name : '';
    const route = request.routeOptions.url ?? 'unknown';
    const status = reply.statusCode;
    const key = `${model} ${route}`;
    let latency = timed.get(key);
    if (!latency) {
      latency = metrics.latency.labels(model, route);
      timed.set(key, latency);
    }
    let count = counted.get(`${key} ${status}`);
    if (!count) {
      count = metrics.requests.labels(model, route, String(status));
      counted.set(`${key} ${status}`, count);
    }
    count.inc();
    latency.observe(reply.elapsedTime / 1000);
    done();
  });

  type ModelParams = { name: string; version?: string };
  const find = (request: FastifyRequest) => {
    const { name, version } = request.params as ModelParams;
    const entry = table.get(name);
    if (!entry) throw new ProtocolError(404, `unknown model "${name}".`);
    if (version !== undefined && !entry.model.versions.includes(version)) {
      throw new ProtocolError(
        404,
        `model "${name}" has no version "${version}" (it has ${entry.model.versions.join(', ')}).`,
      );
    }
    return {
      model: entry.model,
      batcher: entry.batcher,
      version: version ?? entry.model.versions[0]!,
    };
  };
  const both = (suffix: string) => [
    `/v2/models/:name${suffix}`,
    `/v2/models/:name/versions/:version${suffix}`,
  ];

  app.get('/v2', async () => ({
    name: 'aekit',
    version: VERSION,
    extensions: ['binary_tensor_data'],
  }));
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_request, reply) =>
    reply.code(closing ? 503 : 200).send({ ready: !closing }),
  );
  for (const url of both('')) {
    app.get(url, async (request) => {
      const { model } = find(request);
      return {
        name: model.name,
        versions: model.versions,
        platform: model.platform,
        inputs: model.inputs,
        outputs: model.outputs,
      };
    });
  }
  // aekit's own: what the protocol's metadata has no word for (capabilities, sampler, classes).
  for (const url of both('/aekit')) {
    app.get(url, async (request) => find(request).model.aekit);
  }
  for (const url of both('/nearest')) {
    app.post(url, async (request) => {
      const { model, version } = find(request);
      const index = indexes.get(model.aekit.autoencoder);
      if (!model.nearest || model.aekit.role !== 'encoder') {
        throw new ProtocolError(
          400,
          `model "${model.name}" cannot search: nearest is answered by the encoder of a run that hashes.`,
        );
      }
      if (!index) {
        throw new ProtocolError(
          400,
          `no hash index is loaded for "${model.aekit.autoencoder}": start the server with --index ${model.aekit.autoencoder}=FILE (aekit hash writes one).`,
        );
      }
      const { body } = request;
      const binary = body instanceof BinaryBody;
      const header = (binary ? body.header : body) as Record<string, unknown> | undefined;
      const checked = checkInferenceRequest(
        header,
        model.inputs,
        model.outputs,
        maxBatchSize,
        binary ? body.binary : undefined,
      );
      model.checkInputs?.(checked.inputs);
      const parameters = (header?.parameters ?? {}) as Record<string, unknown>;
      const found = await model.nearest(checked.inputs, index, {
        k: parameters.k,
        radius: parameters.radius,
      } as Parameters<NonNullable<ServedModel['nearest']>>[2]);
      return {
        model_name: model.name,
        model_version: version,
        ...(checked.id !== undefined ? { id: checked.id } : {}),
        neighbours: found.map((r) => ({
          indices: Array.from(r.indices),
          distances: Array.from(r.distances),
          ...(r.ids ? { ids: r.ids } : {}),
          ...(r.labels ? { labels: Array.from(r.labels) } : {}),
        })),
      };
    });
  }
  for (const url of both('/ready')) {
    app.get(url, async (request, reply) => {
      const { model } = find(request);
      return reply.code(closing ? 503 : 200).send({ name: model.name, ready: !closing });
    });
  }
  for (const url of both('/infer')) {
    app.post(url, async (request, reply) => {
      const { model, batcher, version } = find(request);
      const { body } = request;
      const binary = body instanceof BinaryBody;
      const checked = checkInferenceRequest(
        binary ? body.header : body,
        model.inputs,
        model.outputs,
        maxBatchSize,
        binary ? body.binary : undefined,
      );
      model.checkInputs?.(checked.inputs);
      const outputs = await batcher.submit(checked.rows, checked.inputs, checked.outputs);
      const asBytes = checked.binaryOutputs;
      const response: InferenceResponse = {
        model_name: model.name,
        model_version: version,
        ...(checked.id !== undefined ? { id: checked.id } : {}),
        outputs: checked.outputs.map((name) =>
          asBytes.includes(name)
            ? binaryResponseOutput(name, outputs[name]!)
            : responseOutput(name, outputs[name]!),
        ),
      };
      if (asBytes.length === 0) return response;
      const { headerLength, body: bytes } = binaryResponse(response, outputs, asBytes);
      return reply
        .header('Content-Type', 'application/octet-stream')
        .header('Inference-Header-Content-Length', String(headerLength))
        .send(bytes);
    });
  }
  for (const url of both('/sample')) {
    app.post(url, async (request) => {
      const { model, version } = find(request);
      if (!model.sample) {
        throw new ProtocolError(
          400,
          `model "${model.name}" cannot sample: its run does not declare the sample capability.`,
        );
      }
      const body = (jsonOf(request.body) ?? {}) as Record<string, unknown>;
      const { id, n, seed, temperature, steps } = body;
      if (typeof body !== 'object' || Array.isArray(body)) {
        throw new ProtocolError(400, 'the request body must be a JSON object.');
      }
      if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > maxBatchSize) {
        throw new ProtocolError(400, `"n" must be an integer from 1 to ${maxBatchSize}.`);
      }
      for (const [key, value] of Object.entries({ seed, temperature, steps })) {
        if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
          throw new ProtocolError(400, `"${key}" must be a finite number.`);
        }
      }
      const result = await model.sample({
        n: n as number,
        ...(seed !== undefined ? { seed: seed as number } : {}),
        ...(temperature !== undefined ? { temperature: temperature as number } : {}),
        ...(steps !== undefined ? { steps: steps as number } : {}),
      });
      return {
        model_name: model.name,
        model_version: version,
        ...(typeof id === 'string' ? { id } : {}),
        parameters: { seed: result.seed },
        outputs: Object.entries(result.outputs).map(([k, t]) => responseOutput(k, t)),
      };
    });
  }
  app.get('/metrics', async (_request, reply) =>
    reply
      .header('Content-Type', metrics.registry.contentType)
      .send(await metrics.registry.metrics()),
  );

  let closed: Promise<void> | undefined;
  return {
    app,
    models: [...table.keys()],
    skipped,
    metrics: metrics.registry,
    async listen() {
      try {
        return await app.listen({ host: o.host, port: o.port });
      } catch (err) {
        throw aekitErrorWithCause(
          err,
          'InvalidArgument',
          `cannot listen on ${o.host}:${o.port}: ${(err as Error).message}. Pick another port (0 picks a free one).`,
        );
      }
    },
    close() {
      closed ??= (async () => {
        closing = true;
        await app.close();
        await release();
      })();
      return closed;
    },
  };
}

/** {@link createServer}, then `listen()`: resolves to the server and its base URL. */
export async function serve(options: ServerOptions): Promise<AekitServer & { url: string }> {
  const server = await createServer(options);
  try {
    return Object.assign(server, { url: await server.listen() });
  } catch (err) {
    await server.close();
    throw err;
  }
}
