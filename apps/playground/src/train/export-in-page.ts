/** The trained networks to ONNX in the page, with their aekit.json, as the CLI exports them. */
import type { Normalization } from '@aekit/core';
import {
  EXPORTED_MODEL_FILE,
  type ExportedModel,
  graphFileName,
  parseExportedModelText,
  writeExportedModel,
} from '@aekit/core/model';
import { describedGraphSpec, layersToOnnx } from '@aekit/export/browser';
import {
  type AutoencoderModel,
  DEFAULT_ONNX_GRAPHS,
  type TfjsVariantPlugin,
} from '@aekit/trainers/browser';

/** An exported model: its files by name, aekit.json among them. */
export interface PageExport {
  /** `encoder.onnx`, `decoder.onnx`, … (one per graph) then `aekit.json`. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** The contents of aekit.json, read back as runtimes read it. */
  readonly metadata: ExportedModel;
}

/** What {@link exportInPage} exports. */
export interface PageExportInput {
  readonly plugin: TfjsVariantPlugin;
  /** The validated options the model was built with. */
  readonly config: Record<string, unknown>;
  readonly model: AutoencoderModel;
  readonly inputShape: readonly number[];
  /** How the training samples were normalised. */
  readonly normalization: Normalization;
}

/**
 * Writes the graphs the variant declares (its `onnxGraphs`, else the encoder, decoder and
 * autoencoder) from the trained networks, and aekit.json describing them (core's writer)
 * with the variant's capabilities, output activation and sampler.
 */
export function exportInPage(input: PageExportInput): PageExport {
  const { plugin, config, model } = input;
  const graphs = plugin.trainer.onnxGraphs?.(config) ?? DEFAULT_ONNX_GRAPHS;
  const files = new Map<string, Uint8Array>();
  for (const graph of graphs) {
    const networks = graph.networks.map((name) => {
      const net = model.networks[name];
      if (!net) {
        throw new Error(
          `variant "${plugin.name}" declares an ONNX graph over network "${name}", which it does not build`,
        );
      }
      return net;
    });
    files.set(graphFileName(graph.role), layersToOnnx(describedGraphSpec(graph, networks)));
  }
  const codingShape = (model.networks.encoder.outputs[0]!.shape.slice(1) as number[]).map(
    (d) => d ?? 1,
  );
  const outputActivation = plugin.trainer.outputActivation?.(config);
  const sampler = plugin.trainer.sampler?.(config);
  const text = writeExportedModel({
    variant: plugin.name,
    inputShape: input.inputShape,
    codingShape,
    normalization: input.normalization,
    ...(outputActivation ? { outputActivation } : {}),
    capabilities: plugin.capabilities,
    ...(sampler ? { sampler } : {}),
    graphs,
  });
  files.set(EXPORTED_MODEL_FILE, new TextEncoder().encode(text));
  const metadata = parseExportedModelText(text, `${plugin.name} (exported in the page)`);
  return { files, metadata };
}
