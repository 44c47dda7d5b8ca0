import { modelSource, SERVER_DEFAULTS, serve } from '@aekit/server';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { runtimeDeviceOption } from '../flags.js';
import type { Output } from '../output.js';

/** Options of `aekit serve`. */
export interface ServeOptions {
  readonly host: string;
  readonly port: string;
  readonly name?: string;
  readonly device: string;
  readonly maxBatchSize: string;
  readonly maxQueueDelay: string;
  readonly maxQueueSize: string;
  readonly queueTimeout: string;
  readonly logLevel: string;
  readonly index?: Readonly<Record<string, string>>;
}

/** Collects `--index NAME=FILE` options into `{ NAME: FILE }`. */
function collectIndex(
  value: string,
  previous: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0 || at === value.length - 1) {
    throw new InvalidArgumentError(
      `"${value}" is not NAME=FILE: name the autoencoder (NAME of NAME-encoder) and its index file, e.g. --index digits=digits.aekit-hash.`,
    );
  }
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/**
 * `aekit serve DIR|RUN...`: `serve` of `@aekit/server` on model repositories and exported
 * runs, a line with the URL and the models, then waits for SIGTERM or SIGINT, answers the
 * requests in flight and returns.
 */
export async function serveCommand(
  runs: readonly string[],
  options: ServeOptions,
  output: Output,
  stop: Promise<string> = signalled(),
): Promise<void> {
  if (options.name !== undefined && runs.length > 1) {
    throw new Error('--name names one run; serve one run with it, or leave it out.');
  }
  const server = await serve({
    models: runs.map((path) =>
      modelSource(path, options.name !== undefined ? { name: options.name } : {}),
    ),
    host: options.host,
    port: Number(options.port),
    device: options.device === 'auto' ? 'auto' : options.device,
    maxBatchSize: Number(options.maxBatchSize),
    maxQueueDelayMs: Number(options.maxQueueDelay),
    maxQueueSize: Number(options.maxQueueSize),
    queueTimeoutMs: Number(options.queueTimeout),
    logLevel: options.logLevel,
    ...(options.index ? { indexes: options.index } : {}),
  });
  for (const line of server.skipped) output.err(`not served: ${line}`);
  output.out(`serving ${server.models.join(', ')} on ${server.url}`);
  const signal = await stop;
  output.err(`${signal}: answering the requests in flight, then stopping`);
  await server.close();
}

/** Resolves to the name of the first SIGTERM or SIGINT. */
function signalled(): Promise<string> {
  return new Promise((done) => {
    const on = (signal: string) => () => {
      process.off('SIGTERM', term);
      process.off('SIGINT', int);
      done(signal);
    };
    const term = on('SIGTERM');
    const int = on('SIGINT');
    process.once('SIGTERM', term);
    process.once('SIGINT', int);
  });
}

/** Registers `aekit serve`. */
export function registerServe(program: Command, output: Output): void {
  const d = SERVER_DEFAULTS;
  program
    .command('serve')
    .description(
      'Serve model repositories (aekit export RUN --repository DIR) and exported runs over the Open Inference Protocol (KServe v2 REST, as Triton speaks it): each run as models <name>-encoder, <name>-decoder, <name>-autoencoder (and <name>-classifier), with tensors on the raw data scale, dynamic batching and /metrics. A repository serves each model at its latest version, as Triton does. SIGTERM or Ctrl-C answers the requests in flight, then exits.',
    )
    .argument(
      '<sources...>',
      'model repositories (aekit export RUN --repository DIR) or exported run directories (aekit export RUN)',
    )
    .option('--host <host>', 'interface to listen on (0.0.0.0: every interface)', d.host)
    .option('--port <port>', 'port to listen on (0 picks a free one)', String(d.port))
    .option(
      '--name <name>',
      "model name prefix of a single run directory (default: the run folder's name)",
    )
    .addOption(runtimeDeviceOption().default(d.device))
    .option(
      '--max-batch-size <n>',
      'most samples in one batch run and one request',
      String(d.maxBatchSize),
    )
    .option(
      '--max-queue-delay <ms>',
      'how long a request waits for others to batch with (0: none)',
      String(d.maxQueueDelayMs),
    )
    .option(
      '--max-queue-size <n>',
      'most requests waiting per model; more are answered 503 with Retry-After',
      String(d.maxQueueSize),
    )
    .option(
      '--queue-timeout <ms>',
      'longest a request waits in the queue before it is answered 503',
      String(d.queueTimeoutMs),
    )
    .option(
      '--index <name=file>',
      'a hash index (aekit hash) to search with POST /v2/models/NAME-encoder/nearest; repeat for more',
      collectIndex,
    )
    .addOption(
      new Option('--log-level <level>', 'request log level (pino)')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default(d.logLevel),
    )
    .action(async (runs: string[], opts: ServeOptions) => {
      await serveCommand(runs, opts, output);
    });
}
