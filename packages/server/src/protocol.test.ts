import { describe, expect, it } from 'vitest';
import { checkInferenceRequest, type MetadataTensor } from './protocol.js';

const inputs: MetadataTensor[] = [{ name: 'input', datatype: 'FP32', shape: [-1, 2, 2] }];
const outputs: MetadataTensor[] = [
  { name: 'codings', datatype: 'FP32', shape: [-1, 3] },
  { name: 'bits', datatype: 'FP32', shape: [-1, 3] },
];
const check = (body: unknown) => checkInferenceRequest(body, inputs, outputs, 4);
const request = (input: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
  inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 2, 2], data: [1, 2, 3, 4], ...input }],
  ...more,
});

describe('checkInferenceRequest', () => {
  it('accepts flat and nested data, and keeps the id and the outputs asked for', () => {
    const flat = check(request({}, { id: 'x', outputs: [{ name: 'bits' }] }));
    const nested = check(
      request({
        data: [
          [
            [1, 2],
            [3, 4],
          ],
        ],
      }),
    );
    expect(Array.from(flat.inputs.input!.data)).toEqual([1, 2, 3, 4]);
    expect(Array.from(nested.inputs.input!.data)).toEqual([1, 2, 3, 4]);
    expect(flat).toMatchObject({ id: 'x', rows: 1, outputs: ['bits'] });
    expect(nested.outputs).toEqual(['codings', 'bits']);
  });

  it.each([
    ['a wrong shape', request({ shape: [1, 4] }), /shape \[1,4\].*\[n, 2, 2\]/],
    ['a zero batch', request({ shape: [0, 2, 2], data: [] }), /n >= 1/],
    ['too many samples', request({ shape: [5, 2, 2], data: Array(20).fill(0) }), /at most 4/],
    ['too few values', request({ data: [1, 2, 3] }), /holds 3/],
    [
      'too many values',
      request({ data: [[1, 2], [3, 4], [5]] }),
      /\(4 values\) but its data holds 5/,
    ],
    ['a wrong datatype', request({ datatype: 'INT32' }), /datatype "INT32"/],
    ['an unknown input', request({ name: 'x' }), /unexpected input "x"/],
    ['no inputs', { inputs: [] }, /missing input "input"/],
    ['a string value', request({ data: [1, 2, 3, 'a'] }), /finite numbers/],
    ['an infinite value', request({ data: [1, 2, 3, Number.POSITIVE_INFINITY] }), /finite/],
    ['an unknown output', request({}, { outputs: [{ name: 'nope' }] }), /unexpected output "nope"/],
    ['a body that is not an object', [1], /JSON object/],
  ])('refuses %s with 400', (_what, body, message) => {
    expect(() => check(body)).toThrow(message);
    try {
      check(body);
    } catch (err) {
      expect((err as { status: number }).status).toBe(400);
    }
  });
});
