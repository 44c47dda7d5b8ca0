/**
 * What both entries (Node and browser) export beside `loadAutoencoder` and `DEVICES`,
 * among them `connectAutoencoder` (the same API over a model server).
 */

export {
  codeAt,
  formatCode,
  type HashIndex,
  type HashSearchResult,
  type PackedCodes,
  parseCode,
  parseHashIndex,
  unpackBits,
} from '@aekit/core/hashing';
export { loadWithPlatform } from './autoencoder.js';
export { AUTO_DEVICE } from './devices.js';
export {
  type AekitOnnxMetadata,
  type GraphEntry,
  METADATA_FORMAT,
  parseMetadata,
} from './metadata.js';
export {
  CONNECT_DEFAULTS,
  type ConnectOptions,
  connectAutoencoder,
  type RemoteAutoencoder,
  type RemoteAutoencoderInfo,
  type RemoteRequestError,
} from './remote.js';
export { MAX_SAMPLE_VALUES, normalDraws, seededUniform } from './sampling.js';
export type {
  Autoencoder,
  AutoencoderInfo,
  AutoencoderInput,
  AutoencoderSource,
  ClassifyResult,
  EncodeResult,
  HashSearchSource,
  LoadOptions,
  ModelBytes,
  ModelFiles,
  NearestOptions,
  Neighbours,
  NestedArray,
  OrtModule,
  RuntimePlatform,
  SampleOptions,
  SampleResult,
  SourceMatches,
  TensorData,
} from './session.js';
