/**
 * The ONNX graphs a variant exposes, as data: which of its networks each graph chains and
 * the tensor names it gets. Variant plugins declare them; the exporter writes them.
 */
import { TENSOR_NAMES } from './exported-model.js';

/** One ONNX graph a variant exposes: a chain of its networks, with stable tensor names. */
export interface OnnxGraphDescription {
  /** Role and file stem: `encoder` is written to `onnx/encoder.onnx`. */
  readonly role: string;
  /**
   * Networks applied in order, by name in `AutoencoderModel.networks`; one before the last
   * with several outputs passes its first output (e.g. the mean) to the next.
   */
  readonly networks: readonly string[];
  readonly inputName: string;
  /** Name of the graph's (first) output: the last network's output 0. */
  readonly outputName: string;
  /**
   * Names of the last network's further outputs, e.g. `['log_variance']` for an encoder
   * whose outputs are `[mean, logVariance]`: one name for each output after the first.
   * Absent for networks with one output.
   */
  readonly extraOutputNames?: readonly string[];
  /**
   * The export's parity check allows this largest |ONNX Runtime - TensorFlow.js| difference
   * for the graph (default 1e-5), for a graph whose float32 rounding is larger by design
   * (say why where it is set).
   */
  readonly parityTolerance?: number;
}

/** The graphs every autoencoder exposes unless its plugin says otherwise. */
export const DEFAULT_ONNX_GRAPHS: readonly OnnxGraphDescription[] = Object.freeze([
  {
    role: 'encoder',
    networks: ['encoder'],
    inputName: TENSOR_NAMES.input,
    outputName: TENSOR_NAMES.codings,
  },
  {
    role: 'decoder',
    networks: ['decoder'],
    inputName: TENSOR_NAMES.codings,
    outputName: TENSOR_NAMES.reconstruction,
  },
  {
    role: 'autoencoder',
    networks: ['encoder', 'decoder'],
    inputName: TENSOR_NAMES.input,
    outputName: TENSOR_NAMES.reconstruction,
  },
]);
