import { aekitError } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import {
  ADAM_KERNEL,
  type AdamStepAttrs,
  registerFusedKernels,
} from '../backends/fused-kernels.js';

type AdamSlot = { originalName: string; variable: tf.Variable };

/**
 * tfjs's Adam (same formula, state, `getWeights`/`setWeights` and so checkpoints) that
 * takes each variable's step with one fused kernel where the backend has it (wasm, cpu),
 * and with tfjs's element-wise ops elsewhere (webgpu, tensorflow).
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  constructor(learningRate: number) {
    super(learningRate, 0.9, 0.999);
    registerFusedKernels();
  }

  override applyGradients(gradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (!tf.getKernel(ADAM_KERNEL, tf.getBackend())) {
      super.applyGradients(gradients);
      return;
    }
    // tfjs keeps these private; the fused path keeps them exactly as tfjs would.
    const self = this as unknown as {
      accumulatedFirstMoment: AdamSlot[];
      accumulatedSecondMoment: AdamSlot[];
      accBeta1: tf.Variable;
      accBeta2: tf.Variable;
    };
    const list = Array.isArray(gradients)
      ? gradients
      : Object.entries(gradients).map(([name, tensor]) => ({ name, tensor }));
    const t = this.iterations + 1;
    const attrs: AdamStepAttrs = {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      beta1Power: this.beta1 ** t,
      beta2Power: this.beta2 ** t,
    };
    tf.tidy(() => {
      list.forEach(({ name, tensor: gradient }, i) => {
        const value = tf.engine().registeredVariables[name]!;
        const slot = (slots: AdamSlot[], suffix: string) => {
          slots[i] ??= {
            originalName: `${name}/${suffix}`,
            variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
          };
          return slots[i].variable;
        };
        const m = slot(self.accumulatedFirstMoment, 'm');
        const v = slot(self.accumulatedSecondMoment, 'v');
        if (gradient == null) return;
        const [w1, m1, v1] = tf
          .engine()
          .runKernel(
            ADAM_KERNEL,
            { value, m, v, gradient },
            attrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor[];
        value.assign(w1!);
        m.assign(m1!);
        v.assign(v1!);
      });
      self.accBeta1.assign(tf.scalar(this.beta1 ** (t + 1)));
      self.accBeta2.assign(tf.scalar(this.beta2 ** (t + 1)));
    });
    this.incrementIterations();
  }
}

/** Optimisers by name, with the learning rate each uses when none is given. */
export const OPTIMIZERS = Object.freeze({
  sgd: { defaultLearningRate: 0.01, make: (lr: number) => tf.train.sgd(lr) },
  momentum: { defaultLearningRate: 0.01, make: (lr: number) => tf.train.momentum(lr, 0.9) },
  adam: { defaultLearningRate: 0.001, make: (lr: number) => new FusedAdamOptimizer(lr) },
  rmsprop: { defaultLearningRate: 0.001, make: (lr: number) => tf.train.rmsprop(lr, 0.9) },
});

/** An optimiser name. */
export type OptimizerName = keyof typeof OPTIMIZERS;

/** The optimiser `name` with learning rate `lr` (or its default). */
export function createOptimizer(name: string, lr?: number): tf.Optimizer {
  const entry = OPTIMIZERS[name as OptimizerName];
  if (!entry) {
    throw aekitError(
      'InvalidTrainingOptions',
      `  --optimizer: unknown optimiser "${name}"; choose one of ${Object.keys(OPTIMIZERS).join(', ')}.`,
    );
  }
  return entry.make(lr ?? entry.defaultLearningRate);
}
