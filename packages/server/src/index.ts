/**
 * `@aekit/server`: serves exported autoencoders over the Open Inference Protocol (KServe
 * "v2" REST, as NVIDIA Triton speaks it), with Triton-style dynamic batching, a bounded
 * queue per model, Prometheus metrics and a graceful close. `aekit serve` is a thin shell
 * over {@link serve}.
 *
 * @example
 * ```ts
 * import { serve } from '@aekit/server';
 * const server = await serve({ models: ['runs/digits'], port: 8000 });
 * // POST http://127.0.0.1:8000/v2/models/digits-encoder/infer
 * await server.close();
 * ```
 *
 * @packageDocumentation
 */
export { Batcher, type BatcherOptions, type BatchListener, type RunBatch } from './batcher.js';
export { createMetrics, type ServerMetrics } from './metrics.js';
export {
  type LoadedModels,
  type ModelSource,
  modelRepository,
  modelSource,
  ROLES,
  type Role,
  type RunDirectoryOptions,
  runDirectory,
  type SampleRequest,
  type SampleResponse,
  type ServedDescription,
  type ServedModel,
} from './models.js';
export {
  type CheckedRequest,
  checkInferenceRequest,
  type Float32Tensor,
  FP32,
  type InferenceRequest,
  type InferenceResponse,
  type MetadataTensor,
  ProtocolError,
  type RequestInput,
  type ResponseOutput,
  responseOutput,
} from './protocol.js';
export {
  type AekitServer,
  createServer,
  SERVER_DEFAULTS,
  type ServerOptions,
  serve,
} from './server.js';
