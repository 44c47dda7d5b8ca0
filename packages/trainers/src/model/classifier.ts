import { TENSOR_NAMES } from '@aekit/core';
import * as tfl from '@tensorflow/tfjs-layers';
import { denseLayer } from '../layers.js';
import type { AutoencoderModel, OnnxGraphDescription } from '../plugin.js';

/** The network a classifier run adds: the encoder, then a softmax layer over the labels. */
export const CLASSIFIER_NETWORK = 'classifier';

/** The ONNX graph of a classifier run: `classifier.onnx`, input -> probabilities. */
export const CLASSIFIER_GRAPH: OnnxGraphDescription = Object.freeze({
  role: 'classifier',
  networks: [CLASSIFIER_NETWORK],
  inputName: TENSOR_NAMES.input,
  outputName: TENSOR_NAMES.probabilities,
});

/**
 * Adds `networks.classifier` to a built autoencoder: its encoder (the first output, e.g. a
 * VAE's mean, flattened when the codings are maps) then a dense softmax layer with one unit
 * per class. The encoder's layers are shared, so training the classifier changes them.
 */
export function withClassifier(model: AutoencoderModel, classes: number): AutoencoderModel {
  const encoder = model.networks.encoder;
  const input = tfl.input({
    shape: encoder.inputs[0]!.shape.slice(1) as number[],
    name: TENSOR_NAMES.input,
  });
  const out = encoder.apply(input) as tfl.SymbolicTensor | tfl.SymbolicTensor[];
  let codings = Array.isArray(out) ? out[0]! : out;
  if (codings.shape.length > 2) {
    codings = tfl.layers
      .flatten({ name: 'classifier_flatten' })
      .apply(codings) as tfl.SymbolicTensor;
  }
  const head = denseLayer({
    units: classes,
    activation: 'softmax',
    // Zeros: every class starts equally likely (loss ln C), so the first steps do not send
    // large gradients through a pretrained encoder from a random head.
    kernelInitializer: 'zeros',
    name: 'classifier_head',
  });
  const classifier = tfl.model({
    name: CLASSIFIER_NETWORK,
    inputs: input,
    outputs: head.apply(codings) as tfl.SymbolicTensor,
  });
  return { ...model, networks: { ...model.networks, [CLASSIFIER_NETWORK]: classifier } };
}
