import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { type ActivationName, applyActivation } from '../../layers.js';

/** What a {@link TiedDense} layer is made from. */
export interface TiedDenseArgs {
  readonly units: number;
  readonly activation: ActivationName;
  /** The dense layer whose kernel, transposed, this layer multiplies by. */
  readonly mirror?: tfl.layers.Layer;
  /** The mirror's name (kept in the saved config; the layer is re-tied when rebuilt). */
  readonly tiedTo?: string;
  readonly name?: string;
  readonly inputShape?: readonly number[];
}

/**
 * A dense layer whose kernel is the transpose of another dense layer's (its mirror in the
 * encoder), with a bias of its own: `activation(x · Wᵀ + b)`. Its only weight is the bias,
 * so a tied decoder has about half the weights of an untied one; gradients reach the
 * shared kernel through the mirror's variable. Saved models record `tiedTo`; aekit rebuilds
 * the networks from the run's options, which ties the layers again, and loads the weights.
 */
export class TiedDense extends tfl.layers.Layer {
  static className = 'TiedDense';
  readonly units: number;
  readonly activation: ActivationName;
  readonly tiedTo: string;
  readonly mirror: tfl.layers.Layer | undefined;
  private bias: tfl.LayerVariable | undefined;

  constructor(args: TiedDenseArgs) {
    super({
      ...(args.name ? { name: args.name } : {}),
      ...(args.inputShape ? { inputShape: [...args.inputShape] } : {}),
    });
    this.units = args.units;
    this.activation = args.activation;
    this.mirror = args.mirror;
    this.tiedTo = args.tiedTo ?? args.mirror?.name ?? '';
  }

  /** The mirror's kernel `[units, inputs]` (this layer uses its transpose). */
  private kernel(): tf.Tensor {
    const kernel = this.mirror?.weights.find((w) => w.originalName.endsWith('/kernel'));
    if (!kernel) {
      throw new Error(
        `TiedDense "${this.name}" is not tied to a built dense layer (tiedTo "${this.tiedTo}").`,
      );
    }
    return kernel.read();
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    // The mirror maps mirrorIn values to mirrorOut; this layer maps them back.
    const [mirrorIn, mirrorOut] = this.kernel().shape;
    if (mirrorOut !== shape[shape.length - 1] || mirrorIn !== this.units) {
      throw new Error(
        `TiedDense "${this.name}" maps ${shape[shape.length - 1]} to ${this.units} values, but its mirror "${this.tiedTo}" maps ${mirrorIn} to ${mirrorOut}.`,
      );
    }
    this.bias = this.addWeight('bias', [this.units], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [...shape.slice(0, -1), this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D;
      const z = tf.add(tf.matMul(x, this.kernel() as tf.Tensor2D, false, true), this.bias!.read());
      return applyActivation(this.activation, z);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      activation: this.activation,
      tiedTo: this.tiedTo,
    };
  }

  /**
   * The plain dense layer this one equals now (kernel transposed and copied), for
   * exporters that convert standard layers; the caller disposes it.
   */
  exportLayers(): tfl.layers.Layer[] {
    const kernel = this.kernel();
    const dense = tfl.layers.dense({
      units: this.units,
      activation: this.activation,
      name: this.name,
    });
    dense.apply(tfl.input({ shape: [kernel.shape[1]!] }));
    const transposed = tf.transpose(kernel);
    dense.setWeights([transposed, this.bias!.read()]);
    transposed.dispose();
    return [dense];
  }
}

tf.serialization.registerClass(TiedDense);
