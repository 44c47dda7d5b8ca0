/**
 * Dynamic batching, as Triton's dynamic batcher: requests to one model wait in a queue
 * until `maxBatchSize` samples are waiting or the first has waited `maxQueueDelayMs`; then
 * as many as fit in `maxBatchSize` (in arrival order) run together as one batch, and each
 * request gets its own rows back. One batch runs at a time per model; requests that come
 * meanwhile gather for the next. The queue is bounded: past `maxQueueSize` waiting
 * requests, new ones are refused at once (503), and a request that waits longer than
 * `queueTimeoutMs` before its batch starts is refused (503) too.
 */
import { type Float32Tensor, ProtocolError } from './protocol.js';

/** Options of a {@link Batcher}. */
export interface BatcherOptions {
  /** Most samples in one batch (Triton's `max_batch_size`). */
  readonly maxBatchSize: number;
  /** How long the first waiting request waits for others, in ms (Triton's `max_queue_delay_microseconds`, in ms). */
  readonly maxQueueDelayMs: number;
  /** Most requests waiting (not yet running); more are refused with 503. */
  readonly maxQueueSize: number;
  /** Longest a request waits for its batch to start, in ms, before it is refused with 503. */
  readonly queueTimeoutMs: number;
}

/** What a batch is run with, and what it gives: tensors by name, batch axis first. */
export type RunBatch = (
  inputs: Readonly<Record<string, Float32Tensor>>,
  outputs: readonly string[],
) => Promise<Record<string, Float32Tensor>>;

/** Told of each batch run: how many requests and samples it held. */
export type BatchListener = (requests: number, samples: number) => void;

interface Pending {
  readonly rows: number;
  readonly inputs: Readonly<Record<string, Float32Tensor>>;
  readonly outputs: readonly string[];
  readonly resolve: (outputs: Record<string, Float32Tensor>) => void;
  readonly reject: (error: unknown) => void;
  /** When it is refused if its batch has not started (`performance.now()` ms). */
  readonly deadline: number;
}

/** Joins tensors along the batch axis. */
function concat(parts: readonly Float32Tensor[]): Float32Tensor {
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  let rows = 0;
  for (const p of parts) {
    length += p.data.length;
    rows += p.shape[0]!;
  }
  const data = new Float32Array(length);
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return { data, shape: [rows, ...parts[0]!.shape.slice(1)] };
}

/** Rows `[start, start + rows)` of a tensor (a view: no copy). */
function slice(t: Float32Tensor, start: number, rows: number): Float32Tensor {
  if (start === 0 && rows === t.shape[0]) return t;
  const per = t.data.length / t.shape[0]!;
  return {
    data: t.data.subarray(start * per, (start + rows) * per),
    shape: [rows, ...t.shape.slice(1)],
  };
}

/** The outputs asked for by any request of a batch, without repeats. */
function union(batch: readonly Pending[]): readonly string[] {
  const first = batch[0]!.outputs;
  if (batch.every((p) => p.outputs === first || sameNames(p.outputs, first))) return first;
  return [...new Set(batch.flatMap((p) => p.outputs))];
}

const sameNames = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((n, i) => n === b[i]);

/**
 * The queue and scheduler of one model. Per request it keeps no timer: one timer waits for
 * the batch's queue delay, and one for the deadline of the oldest waiting request (the queue
 * is in arrival order, so the others expire after it).
 */
export class Batcher {
  readonly #run: RunBatch;
  readonly #options: BatcherOptions;
  readonly #onBatch: BatchListener | undefined;
  #queue: Pending[] = [];
  #waitingRows = 0;
  #running = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #expiry: ReturnType<typeof setTimeout> | undefined;

  constructor(run: RunBatch, options: BatcherOptions, onBatch?: BatchListener) {
    this.#run = run;
    this.#options = options;
    this.#onBatch = onBatch;
  }

  /** Requests waiting for a batch (not the running one). */
  get depth(): number {
    return this.#queue.length;
  }

  /**
   * Queues a request of `rows` samples (at most `maxBatchSize`); resolves to its own rows of
   * the `outputs` asked for.
   *
   * @throws ProtocolError 503 (with `retryAfter`) when the queue is full or the request
   *   waited past `queueTimeoutMs`.
   */
  submit(
    rows: number,
    inputs: Readonly<Record<string, Float32Tensor>>,
    outputs: readonly string[],
  ): Promise<Record<string, Float32Tensor>> {
    if (this.#queue.length >= this.#options.maxQueueSize) {
      return Promise.reject(
        new ProtocolError(
          503,
          `the model's queue is full (${this.#options.maxQueueSize} requests waiting); retry later.`,
          1,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const deadline = performance.now() + this.#options.queueTimeoutMs;
      this.#queue.push({ rows, inputs, outputs, resolve, reject, deadline });
      this.#waitingRows += rows;
      this.#schedule();
      if (this.#queue.length > 0) this.#watch();
    });
  }

  /** Arms the deadline timer for the oldest waiting request, if none is armed. */
  #watch(): void {
    if (this.#expiry !== undefined) return;
    const oldest = this.#queue[0]!;
    this.#expiry = setTimeout(
      () => this.#expire(),
      Math.max(0, oldest.deadline - performance.now()),
    );
  }

  /** Refuses the requests that waited past `queueTimeoutMs`. */
  #expire(): void {
    this.#expiry = undefined;
    const now = performance.now();
    while (this.#queue.length > 0 && this.#queue[0]!.deadline <= now) {
      const late = this.#queue.shift()!;
      this.#waitingRows -= late.rows;
      late.reject(
        new ProtocolError(
          503,
          `the request waited ${this.#options.queueTimeoutMs} ms in the model's queue without running; retry later.`,
          1,
        ),
      );
    }
    if (this.#queue.length > 0) this.#watch();
  }

  #schedule(): void {
    if (this.#running || this.#queue.length === 0) return;
    if (this.#waitingRows >= this.#options.maxBatchSize || this.#options.maxQueueDelayMs <= 0) {
      this.#flush();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#flush(), this.#options.maxQueueDelayMs);
    }
  }

  #flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#running || this.#queue.length === 0) return;
    const batch: Pending[] = [];
    let rows = 0;
    while (this.#queue.length > 0 && rows + this.#queue[0]!.rows <= this.#options.maxBatchSize) {
      const next = this.#queue.shift()!;
      batch.push(next);
      rows += next.rows;
    }
    this.#waitingRows -= rows;
    if (this.#queue.length === 0 && this.#expiry !== undefined) {
      clearTimeout(this.#expiry);
      this.#expiry = undefined;
    }
    this.#running = true;
    void this.#runBatch(batch, rows).finally(() => {
      this.#running = false;
      // Requests that came while the batch ran have waited already: run them now.
      if (this.#queue.length > 0) this.#flush();
    });
  }

  async #runBatch(batch: readonly Pending[], rows: number): Promise<void> {
    let inputs: Readonly<Record<string, Float32Tensor>>;
    if (batch.length === 1) inputs = batch[0]!.inputs;
    else {
      const joined: Record<string, Float32Tensor> = {};
      for (const name of Object.keys(batch[0]!.inputs)) {
        joined[name] = concat(batch.map((p) => p.inputs[name]!));
      }
      inputs = joined;
    }
    const outputs = union(batch);
    this.#onBatch?.(batch.length, rows);
    let result: Record<string, Float32Tensor>;
    try {
      result = await this.#run(inputs, outputs);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    let start = 0;
    for (const p of batch) {
      const own: Record<string, Float32Tensor> = {};
      for (const o of p.outputs) own[o] = slice(result[o]!, start, p.rows);
      p.resolve(own);
      start += p.rows;
    }
  }
}
