import type { Normalization } from '@aekit/core';
import { AekitError, aekitError, isAekitError } from '@aekit/core/errors';
import { checkInputScale } from '@aekit/core/model';
import type { AutoencoderInput, NestedArray, TensorData } from './session.js';

/** The number of values in one sample of `shape`. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

function invalid(method: string, sampleShape: readonly number[], what: string): Error {
  const n = sizeOf(sampleShape);
  return aekitError(
    'InvalidInput',
    `${method}() takes samples of shape ${fmt(sampleShape)} (${n} value${n === 1 ? '' : 's'} each): ${what}`,
  );
}

/** Shape of a nested array, checking that it is rectangular and has numbers at the leaves. */
function nestedShape(
  value: NestedArray,
  fail: (what: string) => Error,
): { shape: number[]; count: number } {
  const shape: number[] = [];
  let level: unknown = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  const walk = (node: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof node !== 'number') {
        throw fail(
          `the element at ${path} is ${Array.isArray(node) ? 'an array' : typeof node}, where a number belongs (the arrays are ragged).`,
        );
      }
      return;
    }
    if (!Array.isArray(node)) {
      throw fail(
        `the element at ${path} is ${typeof node}, where an array of ${shape[depth]} belongs (the arrays are ragged).`,
      );
    }
    if (node.length !== shape[depth]) {
      throw fail(
        `the array at ${path} has ${node.length} elements, but the first one at that depth has ${shape[depth]} (the arrays are ragged).`,
      );
    }
    for (let i = 0; i < node.length; i++) walk(node[i], depth + 1, `${path}[${i}]`);
  };
  walk(value, 0, 'x');
  return { shape, count: sizeOf(shape) };
}

function flatten(value: NestedArray, out: Float32Array): void {
  let i = 0;
  const visit = (node: number | NestedArray): void => {
    if (typeof node === 'number') out[i++] = node;
    else for (const child of node) visit(child);
  };
  visit(value);
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Turns any accepted input into `{ data, shape }` with `shape = [N, ...sampleShape]`, or
 * throws `InvalidInput` saying what does not fit. A `Float32Array` is used as it is (not
 * copied); other forms are converted.
 */
export function toBatch(
  input: AutoencoderInput,
  sampleShape: readonly number[],
  method: string,
): TensorData {
  const n = sizeOf(sampleShape);
  const fail = (what: string): Error => invalid(method, sampleShape, what);
  const flat = (data: Float32Array, kind: string): TensorData => {
    if (data.length === 0) throw fail(`the ${kind} is empty.`);
    if (data.length % n !== 0) {
      throw fail(
        `the ${kind} holds ${data.length} values, which is not a whole number of samples.`,
      );
    }
    return { data, shape: [data.length / n, ...sampleShape] };
  };

  if (input instanceof Float32Array) return flat(input, 'Float32Array');
  if (ArrayBuffer.isView(input)) {
    throw fail(
      `got a ${input.constructor.name}; pass a Float32Array (e.g. Float32Array.from(values)).`,
    );
  }
  if (Array.isArray(input)) {
    const { shape, count } = nestedShape(input as NestedArray, fail);
    const data = new Float32Array(count);
    flatten(input as NestedArray, data);
    if (shape.length === 1) return flat(data, 'flat array');
    const sample = shape.slice(1);
    if (!sameShape(sample, sampleShape) && !sameShape(sample, [n])) {
      throw fail(
        `got nested arrays of shape ${fmt(shape)}, so each sample has shape ${fmt(sample)}; expected [N, ${sampleShape.join(', ')}]${sampleShape.length > 1 ? ` or [N, ${n}]` : ''}.`,
      );
    }
    if (shape[0] === 0) throw fail('the array is empty.');
    return { data, shape: [shape[0]!, ...sampleShape] };
  }
  if (typeof input === 'object' && input !== null && 'data' in input && 'shape' in input) {
    const { shape } = input;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw fail('`shape` must be an array of non-negative integers.');
    }
    const data =
      input.data instanceof Float32Array
        ? input.data
        : Array.isArray(input.data)
          ? Float32Array.from(input.data)
          : undefined;
    if (!data) throw fail('`data` must be a Float32Array or an array of numbers.');
    if (!sameShape(shape.slice(1), sampleShape)) {
      throw fail(`got shape ${fmt(shape)}; expected [N, ${sampleShape.join(', ')}].`);
    }
    if (sizeOf(shape) !== data.length) {
      throw fail(`shape ${fmt(shape)} holds ${sizeOf(shape)} values, but data has ${data.length}.`);
    }
    if (data.length === 0) throw fail('the batch is empty.');
    return { data, shape: [...shape] };
  }
  throw fail(
    `got ${input === null ? 'null' : typeof input}; pass a Float32Array, nested arrays of numbers, or { data, shape }.`,
  );
}

/**
 * Refuses a checked batch (from {@link toBatch}) for `method` whose range says it holds raw
 * values while the graphs take normalised ones: 0..255 pixels given to a model whose
 * `normalization` (from aekit.json) maps them to [0, 1]. The rule is `checkInputScale` of
 * `@aekit/core` for values given as normalised: a value more than four widths of the
 * normalised range outside it (above 5 for [0, 1]). Nothing is checked without a recorded
 * normalisation.
 *
 * @throws AekitError `InputScaleMismatch`, saying to normalise the values first.
 */
export function checkBatchScale(
  batch: TensorData,
  normalization: Normalization | undefined,
  method: string,
): void {
  try {
    checkInputScale(
      batch.data,
      sizeOf(batch.shape.slice(1)),
      normalization,
      'normalized',
      `the ${method}() input`,
    );
  } catch (err) {
    if (!isAekitError(err, 'InputScaleMismatch')) throw err;
    throw new AekitError(
      err.code,
      err.message,
      err.title,
      `Normalise the values first: applyNormalization(data, featureCount, ae.info.normalization) of @aekit/core (for "unit", divide 0..255 pixels by 255).`,
    );
  }
}

/**
 * The label of each row's most probable class in `[N, classes]` probabilities: `names[c]`
 * (a classifier's labels from aekit.json), else the class number `c`. Ties go to the first.
 */
export function mostProbable(
  probabilities: { readonly data: Float32Array; readonly shape: readonly number[] },
  names?: readonly number[],
): Int32Array {
  const [n, classes] = probabilities.shape as [number, number];
  const { data } = probabilities;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++)
      if (data[i * classes + c]! > data[i * classes + best]!) best = c;
    labels[i] = names?.[best] ?? best;
  }
  return labels;
}
