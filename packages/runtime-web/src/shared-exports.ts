/** What both entries (Node and browser) export beside `loadAutoencoder` and `DEVICES`. */
export { loadWithPlatform } from './autoencoder.js';
export { AUTO_DEVICE } from './devices.js';
export {
  type AekitOnnxMetadata,
  type GraphEntry,
  METADATA_FORMAT,
  parseMetadata,
} from './metadata.js';
export { MAX_SAMPLE_VALUES } from './sampling.js';
export type {
  Autoencoder,
  AutoencoderInfo,
  AutoencoderInput,
  AutoencoderSource,
  EncodeResult,
  LoadOptions,
  ModelBytes,
  ModelFiles,
  NestedArray,
  OrtModule,
  RuntimePlatform,
  SampleOptions,
  SampleResult,
  TensorData,
} from './session.js';
