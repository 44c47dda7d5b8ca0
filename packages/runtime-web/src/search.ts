import { aekitError } from '@aekit/core/errors';
import { show } from './sampling.js';

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * Checks the options of `nearest(x, index, { radius } | { k })`: exactly one, a
 * non-negative integer (k at least 1).
 *
 * @throws AekitError `InvalidArgument` naming what is wrong.
 */
export function checkNearestRequest(options: unknown): { radius?: number; k?: number } {
  const fail = (what: string): Error => aekitError('InvalidArgument', `nearest(): ${what}`);
  if (typeof options !== 'object' || options === null) {
    throw fail(`options must be { radius } or { k }, not ${show(options)}.`);
  }
  const { radius, k } = options as { radius?: unknown; k?: unknown };
  if ((radius === undefined) === (k === undefined)) {
    throw fail(
      'give exactly one of radius (every item within that Hamming distance) and k (the k nearest items).',
    );
  }
  if (radius !== undefined) {
    if (!isCount(radius)) {
      throw fail(`radius must be an integer >= 0 (a Hamming distance), not ${show(radius)}.`);
    }
    return { radius };
  }
  if (!isCount(k) || k < 1) throw fail(`k must be a positive integer, not ${show(k)}.`);
  return { k };
}
