import { aekitError } from '@aekit/core/errors';
import {
  codeAt,
  type HashIndex,
  type PackedCodes,
  searchNearest,
  searchRadius,
} from '@aekit/core/hashing';
import { show } from './sampling.js';
import type { HashSearchSource, Neighbours, SourceMatches } from './session.js';

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

/**
 * The neighbours in `index` of each code of `codes`, as `nearest` returns them: within
 * `radius`, or the `k` nearest, with the index's ids and labels when it has them.
 */
export function neighboursOf(
  codes: PackedCodes,
  index: HashIndex,
  { radius, k }: ReturnType<typeof checkNearestRequest>,
): Neighbours[] {
  return Array.from({ length: codes.count }, (_, i) => {
    const query = codeAt(codes, i);
    const found =
      radius !== undefined ? searchRadius(index, query, radius) : searchNearest(index, query, k!);
    return {
      ...found,
      ...(index.ids ? { ids: Array.from(found.indices, (j) => index.ids![j]!) } : {}),
      ...(index.labels ? { labels: Int32Array.from(found.indices, (j) => index.labels![j]!) } : {}),
    };
  });
}

/**
 * Checks that `index` holds codes of `bits` bits, as the model makes.
 *
 * @throws AekitError `InvalidArgument` saying to rebuild the index with this model.
 */
export function checkIndexBits(index: HashIndex, bits: number): void {
  if (index?.codes?.bits !== bits) {
    throw aekitError(
      'InvalidArgument',
      `nearest(): the index holds ${index?.codes?.bits ?? 'no'}-bit codes, but this model makes ${bits}-bit codes: build the index with this model (aekit hash).`,
    );
  }
}

/** Whether `index` is searched elsewhere (a {@link HashSearchSource}), not in memory. */
function isSearchSource(index: HashIndex | HashSearchSource): index is HashSearchSource {
  return typeof (index as Partial<HashSearchSource>).searchRadius === 'function';
}

/** A source's matches as {@link Neighbours}, with labels when every match has one. */
function neighboursFrom(m: SourceMatches): Neighbours {
  const labels = m.labels;
  return {
    indices: Uint32Array.from(m.items),
    distances: Uint16Array.from(m.distances),
    ...(m.ids ? { ids: m.ids } : {}),
    ...(labels?.every((l) => l !== null) ? { labels: Int32Array.from(labels as number[]) } : {}),
  };
}

/**
 * `nearest` of every model: checks the request and the index's code width, hashes the
 * samples (`hash`), then searches an in-memory index here or a source (a database) query by
 * query.
 *
 * @throws AekitError `InvalidArgument` for a wrong request or an index of another width.
 */
export async function nearestIn(
  index: HashIndex | HashSearchSource,
  options: unknown,
  bits: number,
  hash: () => Promise<PackedCodes>,
): Promise<Neighbours[]> {
  const request = checkNearestRequest(options);
  if (!isSearchSource(index)) {
    checkIndexBits(index, bits);
    return neighboursOf(await hash(), index, request);
  }
  if (index.bits !== bits) {
    throw aekitError(
      'InvalidArgument',
      `nearest(): the index holds ${index.bits}-bit codes, but this model makes ${bits}-bit codes: build it with this model (aekit hash).`,
    );
  }
  const codes = await hash();
  const found: Neighbours[] = [];
  for (let i = 0; i < codes.count; i++) {
    const query = codeAt(codes, i);
    const matches =
      request.radius !== undefined
        ? await index.searchRadius(query, request.radius)
        : await index.searchNearest(query, request.k!);
    found.push(neighboursFrom(matches));
  }
  return found;
}
