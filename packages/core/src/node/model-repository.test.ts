import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXPORTED_MODEL_FORMAT } from '../exported-model.js';
import {
  isModelRepository,
  readModelRepository,
  repositoryAutoencoderOf,
  repositoryVersions,
} from './model-repository.js';

const root = mkdtempSync(join(tmpdir(), 'aekit-repository-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Writes `DIR/NAME-ROLE/VERSION/{model.onnx,aekit.json}` and the model's config.pbtxt. */
function graph(
  dir: string,
  name: string,
  role: string,
  version: number,
  entry = `${name}-${role}`,
) {
  const folder = join(dir, `${name}-${role}`, String(version));
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(dir, `${name}-${role}`, 'config.pbtxt'), `name: "${name}-${role}"\n`);
  writeFileSync(join(folder, 'model.onnx'), role);
  writeFileSync(
    join(folder, 'aekit.json'),
    JSON.stringify({
      format: EXPORTED_MODEL_FORMAT,
      inputShape: [4],
      codingShape: [2],
      capabilities: [],
      repository: { model: entry, version },
      graphs: { [role]: { file: 'model.onnx', input: 'input', output: 'out' } },
    }),
  );
}

describe('model repositories', () => {
  const repo = join(root, 'repo');
  graph(repo, 'digits', 'encoder', 1);
  graph(repo, 'digits', 'decoder', 1);
  graph(repo, 'digits', 'encoder', 2);
  graph(repo, 'digits', 'decoder', 2);
  graph(repo, 'digits', 'autoencoder', 2);
  // Version 3 is incomplete (no decoder): the latest complete one is 2.
  graph(repo, 'digits', 'encoder', 3);
  graph(repo, 'faces', 'encoder', 1);
  graph(repo, 'faces', 'decoder', 1);
  mkdirSync(join(repo, 'other', '1'), { recursive: true });
  writeFileSync(join(repo, 'other', 'config.pbtxt'), 'platform: "onnxruntime_onnx"\n');

  it('lists each autoencoder at its latest version with both encoder and decoder', () => {
    expect(isModelRepository(repo)).toBe(true);
    expect(repositoryVersions(join(repo, 'digits-encoder'))).toEqual([1, 2, 3]);
    const { autoencoders, skipped } = readModelRepository(repo);
    expect(autoencoders.map((a) => [a.name, a.version, Object.keys(a.graphs)])).toEqual([
      ['digits', 2, ['encoder', 'decoder', 'autoencoder']],
      ['faces', 1, ['encoder', 'decoder']],
    ]);
    expect(skipped).toEqual([expect.stringMatching(/^other: no version of it has an aekit\.json/)]);
  });

  it('finds the autoencoder of a model folder (latest version) or a version folder', () => {
    expect(repositoryAutoencoderOf(join(repo, 'faces-decoder'))).toMatchObject({
      name: 'faces',
      version: 1,
    });
    expect(repositoryAutoencoderOf(join(repo, 'digits-decoder', '1'))?.version).toBe(1);
    expect(() => repositoryAutoencoderOf(join(repo, 'digits-encoder'))).toThrow(
      /no version 3 of digits-decoder/,
    );
    expect(repositoryAutoencoderOf(root)).toBeUndefined();
  });

  it('refuses a moved folder and a folder that is not a repository', () => {
    const moved = join(root, 'moved');
    graph(moved, 'renamed', 'encoder', 1, 'digits-encoder');
    expect(() => repositoryAutoencoderOf(join(moved, 'renamed-encoder', '1'))).toThrow(
      /says it is digits-encoder\/1/,
    );
    expect(isModelRepository(join(root, 'none'))).toBe(false);
    expect(() => readModelRepository(join(root, 'none'))).toThrow(/not a model repository/);
  });
});
