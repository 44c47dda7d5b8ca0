/**
 * `aekit export RUN --repository DIR`: a Triton/KServe model repository from a run trained on
 * MNIST, its configurations checked against Triton's own `model_config.proto`, and its
 * graphs (normalisation folded in) giving on raw pixels what `aekit encode` gives.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseExportedModelText } from '@aekit/core';
import { readNpy, writeDataFile } from '@aekit/core/node';
import { decodeOnnxModel, tritonTensors } from '@aekit/export';
import { exportToRepository, loadEvaluationData, train } from '@aekit/trainers';
import * as ort from 'onnxruntime-node';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, PYTHON, type Requirement } from '../../core/src/test-utils/requirements.js';
import { aekit } from './test-utils/aekit.js';

// ONNX Runtime on the CPU against itself after a Mul/Add on float32 inputs (aekit encode
// normalises in JavaScript, the folded graph in ONNX Runtime): measured differences are
// below 1e-6 for codings of magnitude 1-10; 1e-5 is the export's bound.
const TOLERANCE = 1e-5;
const SAMPLES = 16;
const ROLES = ['autoencoder', 'decoder', 'encoder'];

/** Debian's Python protobuf, whose text_format parses config.pbtxt as Triton does. */
const PYTHON_PROTOBUF: Requirement = Object.freeze({
  what: "Python's protobuf",
  debian: 'python3-protobuf',
  available: () =>
    execFileSync(PYTHON, ['-c', 'import google.protobuf.text_format; print(1)'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim() === '1',
});

const PROTO = fileURLToPath(
  new URL('../../export/test/fixtures/triton-model-config.proto', import.meta.url),
);

/**
 * Triton's model_config.proto as a FileDescriptorSet (there is no protoc here): protobufjs
 * names map entries after the field as written, protoc (and Python's check) `FieldNameEntry`.
 */
function modelConfigDescriptor(): Uint8Array {
  const root = new protobuf.Root().loadSync(PROTO, { keepCase: true });
  const set = root.toDescriptor('proto3') as unknown as {
    file: { messageType: Message[] }[];
  };
  interface Message {
    name: string;
    field: { name: string; typeName?: string }[];
    nestedType?: (Message & { options?: { mapEntry?: boolean } })[];
  }
  const fix = (m: Message): void => {
    for (const n of m.nestedType ?? []) {
      fix(n);
      if (!n.options?.mapEntry) continue;
      const field = m.field.find((f) => f.typeName === n.name)!;
      const name = `${field.name
        .split('_')
        .map((w) => w[0]!.toUpperCase() + w.slice(1))
        .join('')}Entry`;
      field.typeName = name;
      n.name = name;
    }
  };
  for (const file of set.file) for (const m of file.messageType) fix(m);
  return descriptor.FileDescriptorSet.encode(set as never).finish();
}

const PARSE_CONFIG = `
import json, sys
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory, text_format
files = descriptor_pb2.FileDescriptorSet.FromString(open(sys.argv[1], 'rb').read())
pool = descriptor_pool.DescriptorPool()
for f in files.file: pool.Add(f)
ModelConfig = message_factory.MessageFactory(pool).GetPrototype(pool.FindMessageTypeByName('inference.ModelConfig'))
for path in sys.argv[2:]:
    config = text_format.Parse(open(path).read(), ModelConfig())
    print(json.dumps(json_format.MessageToDict(config, preserving_proto_field_name=True)))
`;

const dir = mkdtempSync(join(tmpdir(), 'aekit-repository-e2e-'));
const unitRun = join(dir, 'digits run');
const standardRun = join(dir, 'standard');
const repo = join(dir, 'models');
let raw: Float32Array;

beforeAll(async () => {
  for (const [out, normalize] of [
    [unitRun, 'unit'],
    [standardRun, 'standard'],
  ] as const) {
    await train({
      variant: 'stacked',
      data: 'mnist',
      limit: 500,
      epochs: 1,
      normalize,
      // Standardised pixels are not in [0, 1]: a linear output fitted by mean squared error.
      ...(normalize === 'standard' ? { options: { loss: 'mse', outputActivation: 'linear' } } : {}),
      backend: 'wasm',
      figures: false,
      out,
    });
  }
  const { manifest } = {
    manifest: JSON.parse(readFileSync(join(unitRun, 'manifest.json'), 'utf8')),
  };
  const { heldOut } = loadEvaluationData(manifest);
  // Raw test digits (0..255), as a client without aekit has them.
  raw = heldOut.slice(0, SAMPLES).x.map((v) => Math.round(v * 255));
  writeDataFile(join(dir, 'digits.npy'), raw, [SAMPLES, 28, 28, 1]);
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runGraph(path: string, input: Float32Array, dims: number[]) {
  const session = await ort.InferenceSession.create(path);
  try {
    const name = session.inputNames[0]!;
    const out = await session.run({ [name]: new ort.Tensor('float32', input, dims) });
    return out[session.outputNames[0]!]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('aekit export --repository', () => {
  it('writes NAME-ROLE/config.pbtxt and NAME-ROLE/1/{model.onnx,aekit.json}, then version 2', async () => {
    const first = await aekit('export', unitRun, '--repository', repo);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('Added version 1');
    const models = readdirSync(repo).sort();
    expect(models).toEqual(ROLES.map((r) => `digits-run-${r}`));
    for (const model of models) {
      expect(readdirSync(join(repo, model)).sort()).toEqual(['1', 'config.pbtxt']);
      expect(readdirSync(join(repo, model, '1')).sort()).toEqual(['aekit.json', 'model.onnx']);
      const meta = parseExportedModelText(
        readFileSync(join(repo, model, '1', 'aekit.json'), 'utf8'),
        model,
      );
      const role = model.replace('digits-run-', '');
      expect(meta.repository).toEqual({ model, version: 1 });
      expect(meta.normalization?.kind).toBe('none');
      expect(meta.foldedNormalization?.kind).toBe('unit');
      expect(Object.keys(meta.graphs ?? {})).toEqual([role]);
      expect(meta.graphs?.[role]?.file).toBe('model.onnx');
    }
    const second = await aekit('export', unitRun, '--repository', repo, '--json');
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).version).toBe(2);
    for (const model of models) {
      expect(readdirSync(join(repo, model)).sort()).toEqual(['1', '2', 'config.pbtxt']);
    }
  }, 120_000);

  it('never replaces a version, and leaves nothing behind when it cannot write', async () => {
    await expect(exportToRepository(unitRun, repo, { version: 2 })).rejects.toMatchObject({
      code: 'RepositoryVersionExists',
    });
    // --version after the command is the command's option, not aekit's own --version.
    const again = await aekit('export', unitRun, '--repository', repo, '--version', '2');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/RepositoryVersionExists/);
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    await expect(exportToRepository(unitRun, join(file, 'repo'))).rejects.toMatchObject({
      code: 'CannotWrite',
    });
    for (const model of readdirSync(repo)) {
      expect(readdirSync(join(repo, model)).sort()).toEqual(['1', '2', 'config.pbtxt']);
    }
  }, 120_000);

  it.skipIf(missing(PYTHON_PROTOBUF))(
    "every config.pbtxt parses as Triton's ModelConfig and matches its graph (python3-protobuf)",
    () => {
      const desc = join(dir, 'model_config.desc');
      writeFileSync(desc, modelConfigDescriptor());
      const models = readdirSync(repo).sort();
      const out = execFileSync(PYTHON, [
        '-c',
        PARSE_CONFIG,
        desc,
        ...models.map((m) => join(repo, m, 'config.pbtxt')),
      ]).toString();
      const configs = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      for (const [i, model] of models.entries()) {
        const config = configs[i];
        expect(config).toMatchObject({
          name: model,
          platform: 'onnxruntime_onnx',
          max_batch_size: 256,
          // uint64 fields are strings in protobuf's JSON.
          dynamic_batching: { max_queue_delay_microseconds: '100' },
        });
        const bytes = readFileSync(join(repo, model, '2', 'model.onnx'));
        const graph = decodeOnnxModel(bytes).graph!;
        const io = tritonTensors(bytes);
        const entries = (list: { name: string; data_type: string; dims: string[] }[]) =>
          list.map((t) => ({ name: t.name, dataType: t.data_type, dims: t.dims.map(Number) }));
        expect(entries(config.input)).toEqual(io.inputs);
        expect(entries(config.output)).toEqual(io.outputs);
        // The graph's own declaration: float32, a batch axis, then the dims written.
        expect(config.input[0].name).toBe(graph.input![0]!.name);
        expect(graph.input![0]!.type!.tensorType!.elemType).toBe(1);
        expect(config.input[0].data_type).toBe('TYPE_FP32');
        const dims = graph.input![0]!.type!.tensorType!.shape!.dim!;
        expect(dims[0]!.dimParam).toBe('N');
        expect(config.input[0].dims.map(Number)).toEqual(
          dims.slice(1).map((d) => Number(d.dimValue)),
        );
      }
    },
  );

  for (const [label, run, name] of [
    ['unit (0..255 -> 0..1)', unitRun, 'digits-run'],
    ['standard (per-pixel mean and deviation)', standardRun, 'standard'],
  ] as const) {
    it(`on raw pixels, the encoder gives aekit encode's codings and the decoder raw pixels: ${label}`, async () => {
      if (run === standardRun) {
        const r = await aekit('export', run, '--repository', repo, '--name', name);
        expect(r.code, r.stderr).toBe(0);
      }
      // aekit encode runs the run's own export (RUN/onnx), normalising in JavaScript.
      if (!existsSync(join(run, 'onnx', 'encoder.onnx'))) {
        expect((await aekit('export', run)).code).toBe(0);
      }
      const enc = await aekit(
        'encode',
        run,
        '--input',
        join(dir, 'digits.npy'),
        '--output',
        join(dir, `${name}-codings.npy`),
        '--device',
        'cpu',
      );
      expect(enc.code, enc.stderr).toBe(0);
      const expected = readNpy(join(dir, `${name}-codings.npy`));
      const version = readdirSync(join(repo, `${name}-encoder`))
        .filter((v) => /^\d+$/.test(v))
        .sort()
        .at(-1)!;
      const codings = await runGraph(join(repo, `${name}-encoder`, version, 'model.onnx'), raw, [
        SAMPLES,
        28,
        28,
        1,
      ]);
      const diff = maxAbsDiff(codings, expected.data);
      console.log(
        `[repository e2e] ${label}: max |encoder(raw) - aekit encode| = ${diff.toExponential(2)}`,
      );
      expect(diff).toBeLessThanOrEqual(TOLERANCE);
      const decoded = await runGraph(
        join(repo, `${name}-decoder`, version, 'model.onnx'),
        codings,
        [SAMPLES, 30],
      );
      // A reconstruction on the raw scale: pixels of 0..255, not 0..1.
      const max = decoded.reduce((a, b) => Math.max(a, b), 0);
      console.log(`[repository e2e] ${label}: decoder output max = ${max.toFixed(1)}`);
      expect(max).toBeGreaterThan(100);
      const meanAbsError = decoded.reduce((s, v, i) => s + Math.abs(v - raw[i]!), 0) / raw.length;
      console.log(`[repository e2e] ${label}: mean |decoder - raw| = ${meanAbsError.toFixed(1)}`);
      expect(meanAbsError).toBeLessThan(80);
    }, 120_000);
  }
});
