import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { SELU_SCALE, SELU_SCALE_ALPHA } from '../../backends/fused-kernels.js';
import { type ActivationName, applyActivation } from '../../layers.js';
import { defineConstraint } from '../constraint.js';

/**
 * d activation / dz, from the pre-activation z and the output h. Branches use `step(z)`
 * (1 for z > 0, else 0; tfjs gives it a zero gradient) rather than a comparison, which has
 * no gradient in tfjs.
 */
function slope(name: ActivationName, z: tf.Tensor, h: tf.Tensor): tf.Tensor {
  const branch = (positive: tf.Tensor | number, negative: tf.Tensor) => {
    const up = tf.step(z);
    return tf.add(tf.mul(up, positive), tf.mul(tf.sub(1, up), negative));
  };
  switch (name) {
    case 'sigmoid':
      return tf.mul(h, tf.sub(1, h));
    case 'tanh':
      return tf.sub(1, tf.square(h));
    case 'relu':
      return tf.step(z);
    case 'elu':
      return branch(1, tf.add(h, 1));
    case 'selu':
      return branch(SELU_SCALE, tf.add(h, SELU_SCALE_ALPHA));
    case 'linear':
      return tf.onesLike(z);
  }
}

function weightOf(layer: tfl.layers.Layer, name: string): tf.Tensor2D | tf.Tensor1D {
  const w = layer.weights.find((v) => v.originalName.endsWith(`/${name}`));
  if (!w) throw new Error(`layer "${layer.name}" has no ${name}`);
  return w.read() as tf.Tensor2D;
}

/**
 * The squared Frobenius norm of the Jacobian of a chain of dense layers with respect to its
 * inputs, averaged over the batch, in closed form (exact): for one layer
 * h = f(xW + b), ||J||² = sum_j f'(z_j)² sum_i W_ij² (for a sigmoid, f' = h(1 - h)); for
 * several, J = D_L W_Lᵀ ... D_1 W_1ᵀ per sample (D_l the diagonal of f'), multiplied from
 * the coding side so the largest intermediate is [batch, codings, inputs]. Built from tfjs
 * ops, so training takes its gradient by automatic differentiation.
 */
export function jacobianNormSquared(
  layers: readonly tfl.layers.Layer[],
  input: tf.Tensor2D,
): tf.Scalar {
  return tf.tidy(() => {
    const batch = input.shape[0];
    let h: tf.Tensor = input;
    const slopes: tf.Tensor2D[] = [];
    const kernels: tf.Tensor2D[] = [];
    for (const layer of layers) {
      const kernel = weightOf(layer, 'kernel') as tf.Tensor2D;
      const z = tf.add(tf.matMul(h as tf.Tensor2D, kernel), weightOf(layer, 'bias'));
      const name = (layer.getConfig().activation ?? 'linear') as ActivationName;
      h = applyActivation(name, z);
      slopes.push(slope(name, z, h) as tf.Tensor2D);
      kernels.push(kernel);
    }
    if (layers.length === 1) {
      const columns = tf.sum(tf.square(kernels[0]!), 0);
      return tf.div(tf.sum(tf.mul(tf.square(slopes[0]!), columns)), batch) as tf.Scalar;
    }
    const codes = slopes[slopes.length - 1]!.shape[1];
    // P = D_L W_Lᵀ: [batch, codes, s_{L-1}]
    let p: tf.Tensor = tf.mul(
      tf.expandDims(slopes[slopes.length - 1]!, 2),
      tf.expandDims(tf.transpose(kernels[kernels.length - 1]!), 0),
    );
    for (let l = layers.length - 2; l >= 0; l--) {
      const width = slopes[l]!.shape[1];
      p = tf.mul(p, tf.expandDims(slopes[l]!, 1));
      const next = tf.matMul(tf.reshape(p, [batch * codes, width]), kernels[l]!, false, true);
      p = tf.reshape(next, [batch, codes, kernels[l]!.shape[0]]);
    }
    return tf.div(tf.sum(tf.square(p)), batch) as tf.Scalar;
  });
}

/** A penalty on the encoder's sensitivity to its inputs: the norm of its Jacobian. */
export const contractiveConstraint = defineConstraint({
  name: 'contractive',
  title: 'Contractive',
  description:
    "A penalty on the squared Frobenius norm of the encoder's Jacobian with respect to its inputs (computed exactly), so that nearby inputs get nearby codings; logged apart from the reconstruction loss.",
  options: {
    contractiveWeight: z
      .number()
      .min(0)
      .default(0.01)
      .describe('contractive: weight of the Jacobian penalty (mean over the batch)'),
  },
  penalties: (pass, config) => ({
    contractive: tf.mul(
      config.contractiveWeight,
      jacobianNormSquared(pass.encoderLayers, pass.input),
    ) as tf.Scalar,
  }),
});
