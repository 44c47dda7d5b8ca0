/**
 * The server's Prometheus metrics (prom-client), in a registry of its own so that several
 * servers in one process do not share counts.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The metrics of one server. */
export interface ServerMetrics {
  readonly registry: Registry;
  /** `aekit_requests_total{model, route, status}`: requests answered. */
  readonly requests: Counter<'model' | 'route' | 'status'>;
  /** `aekit_request_duration_seconds{model, route}`: time to answer a request. */
  readonly latency: Histogram<'model' | 'route'>;
  /** `aekit_batch_size{model}`: samples in each ONNX Runtime run of a batch. */
  readonly batchSize: Histogram<'model'>;
  /** `aekit_batch_requests{model}`: requests served by each batch run. */
  readonly batchRequests: Histogram<'model'>;
  /** `aekit_queue_depth{model}`: requests waiting for a batch. */
  readonly queueDepth: Gauge<'model'>;
}

const POWERS_OF_TWO = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/**
 * Creates the metrics in a new registry. `queueDepths`, when given, is read when the metrics
 * are collected: the queue depth of each model (so requests need not set the gauge).
 */
export function createMetrics(
  queueDepths?: () => Iterable<readonly [model: string, depth: number]>,
): ServerMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'aekit_requests_total',
      help: 'Requests answered, by model, route and HTTP status.',
      labelNames: ['model', 'route', 'status'],
      registers,
    }),
    latency: new Histogram({
      name: 'aekit_request_duration_seconds',
      help: 'Time to answer a request, by model and route.',
      labelNames: ['model', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    batchSize: new Histogram({
      name: 'aekit_batch_size',
      help: 'Samples in each batch run (one ONNX Runtime call), by model.',
      labelNames: ['model'],
      buckets: POWERS_OF_TWO,
      registers,
    }),
    batchRequests: new Histogram({
      name: 'aekit_batch_requests',
      help: 'Requests served by each batch run, by model.',
      labelNames: ['model'],
      buckets: POWERS_OF_TWO,
      registers,
    }),
    queueDepth: new Gauge({
      name: 'aekit_queue_depth',
      help: 'Requests waiting for a batch, by model.',
      labelNames: ['model'],
      registers,
      ...(queueDepths
        ? {
            collect(this: Gauge<'model'>) {
              for (const [model, depth] of queueDepths()) this.set({ model }, depth);
            },
          }
        : {}),
    }),
  };
}
