import { totalmem } from 'node:os';
import { aekitError, aekitErrorWithCause } from '@aekit/core';
import type { AutoencoderModel, BuildContext, TfjsVariantPlugin } from '../plugin.js';

/**
 * Bytes of memory per weight while training: the float32 weight, its gradient and up to two
 * optimiser slots (Adam's moments).
 */
const BYTES_PER_WEIGHT = 4 * 4;

/**
 * The most memory a model's weights and optimiser state may take: `AEKIT_MAX_MODEL_BYTES`
 * when set; on the wasm backend 2 GiB (its 32-bit heap holds at most 4 GiB, the data and
 * activations included); elsewhere half of this machine's memory.
 */
export function modelMemoryLimit(backend: string): number {
  const set = Number(process.env.AEKIT_MAX_MODEL_BYTES);
  if (Number.isFinite(set) && set > 0) return set;
  return backend === 'wasm' ? 2 ** 31 : totalmem() / 2;
}

/** A failure of allocation: a typed array too long, or the heap exhausted. */
const ALLOCATION_FAILURE =
  /typed array length|array buffer allocation|out of memory|allocation failed/i;

/**
 * Builds `plugin`'s networks after checking that their weights fit in memory: with the
 * plugin's {@link TfjsTrainer.weightCount} before allocating anything, and otherwise by
 * turning a failed allocation into the same `ModelTooLarge`.
 */
export function buildWithinMemory<C>(
  plugin: TfjsVariantPlugin,
  context: BuildContext<C>,
  backend: string,
): AutoencoderModel {
  const limit = modelMemoryLimit(backend);
  const shape = `[${context.inputShape.join(', ')}]`;
  const what = `Variant "${plugin.name}" with these options, on inputs of shape ${shape},`;
  const count = plugin.trainer.weightCount?.(context as BuildContext<never>);
  if (count !== undefined && count * BYTES_PER_WEIGHT > limit) {
    throw aekitError(
      'ModelTooLarge',
      `Variant "${plugin.name}" with these options has ${count.toExponential(2)} weights on inputs of shape ${shape}: it`,
      count * BYTES_PER_WEIGHT,
      limit,
    );
  }
  try {
    return plugin.trainer.build(context as BuildContext<never>);
  } catch (err) {
    if (err instanceof RangeError && ALLOCATION_FAILURE.test(err.message)) {
      throw aekitErrorWithCause(err, 'ModelTooLarge', what, Number.NaN, limit);
    }
    throw err;
  }
}
