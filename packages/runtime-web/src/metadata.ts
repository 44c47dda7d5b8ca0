/**
 * `aekit.json` as the runtime reads it: the exported-model contract of `@aekit/core/model`,
 * under the names this package has always exported.
 */
import {
  EXPORTED_MODEL_FORMAT,
  type ExportedModel,
  parseExportedModel,
  parseExportedModelText,
  type SamplerSpec,
} from '@aekit/core/model';

export { type GraphEntry, graphFile, hasGraph } from '@aekit/core/model';

/** The format tag of `aekit.json` this runtime reads. */
export const METADATA_FORMAT = EXPORTED_MODEL_FORMAT;

/** What the runtime reads from `aekit.json` (`ExportedModel` of `@aekit/core/model`). */
export type AekitOnnxMetadata = ExportedModel;

/** How a model samples (`SamplerSpec` of `@aekit/core/model`). */
export type Sampler = SamplerSpec;

/**
 * Checks the contents of `aekit.json` and returns them typed, or throws `ModelLoadFailed`
 * naming the first field that is wrong (`parseExportedModel` of `@aekit/core/model`).
 */
export const parseMetadata: (value: unknown, source: string) => AekitOnnxMetadata =
  parseExportedModel;

/** Parses the text of an `aekit.json` file (see {@link parseMetadata}). */
export const parseMetadataText: (text: string, source: string) => AekitOnnxMetadata =
  parseExportedModelText;
