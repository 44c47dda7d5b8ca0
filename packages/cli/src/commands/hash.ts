import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  aekitError,
  applyNormalization,
  codeAt,
  codeWords,
  createHashIndex,
  formatCode,
  type HashIndex,
  type HashSearchResult,
  type PackedCodes,
  packedCodesFromWords,
  parseCode,
  searchNearest,
  searchRadius,
  searchStrategy,
  serializeHashIndex,
} from '@aekit/core';
import { fileFitsSampleShape, loadDataset, type Split, writeAtomic } from '@aekit/core/node';
import { loadAutoencoder, loadHashIndex } from '@aekit/runtime-web';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { numberFlag, runtimeDeviceOption } from '../flags.js';
import { fmt, type Output } from '../output.js';
import { checkOutputFile, modelNormalization, onnxFolder, readSamples, size } from './infer.js';

/** Samples hashed per ONNX Runtime run. */
const HASH_CHUNK = 4096;

/** Options of `aekit hash`. */
export interface HashOptions {
  readonly data: string;
  readonly split?: string;
  readonly limit?: string;
  readonly ids?: string;
  readonly out: string;
  readonly device?: string;
  readonly dataDir?: string;
  /** `--raw`: the data is already normalised (recorded in the index's meta as `raw: true`). */
  readonly raw?: boolean;
}

/** Reads `--ids FILE`: one id per line, as many as items. */
function readIds(path: string, count: number): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw aekitError('InvalidArgument', `--ids ${path} cannot be read: ${(err as Error).message}`);
  }
  const ids = text.split(/\r?\n/);
  if (ids.at(-1) === '') ids.pop();
  if (ids.length !== count) {
    throw aekitError(
      'InvalidArgument',
      `--ids ${path} has ${ids.length} lines, but there are ${count} items: give one id per line, in the data's order.`,
    );
  }
  return ids;
}

/** Item count, distinct codes and the largest bucket, for the summary line. */
function bucketStats(codes: PackedCodes): { distinct: number; largest: number } {
  const words = codeWords(codes.bits);
  const counts = new Map<string, number>();
  for (let i = 0; i < codes.count; i++) {
    const key = codes.data.subarray(i * words, (i + 1) * words).join(',');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return { distinct: counts.size, largest: Math.max(0, ...counts.values()) };
}

/**
 * `aekit hash RUN --data SRC --out INDEX`: hashes every sample of a data set with the
 * exported encoder's bits and writes a hash index (codes packed as bits, the labels when the
 * data has them, ids from `--ids`), atomically, in the checksummed `aekit-hash/2` format. The
 * data is normalised as the model was trained (see `modelNormalization`) unless `--raw`.
 */
export async function hashCommand(run: string, options: HashOptions, output: Output) {
  const folder = onnxFolder(run);
  const split = (options.split ?? 'train') as Split;
  if (split !== 'train' && split !== 'test') {
    throw aekitError('InvalidArgument', `--split must be train or test, not "${options.split}".`);
  }
  const limit = numberFlag(options.limit, '--limit', 0);
  checkOutputFile(options.out);
  const ae = await loadAutoencoder(folder, { device: options.device ?? 'auto' });
  try {
    const { inputShape, codingShape } = ae.info;
    const raw = options.raw === true;
    const normalization = modelNormalization(ae.info, raw, output);
    const { dataset } = loadDataset({
      source: options.data,
      split,
      ...(limit ? { limit } : {}),
      ...(normalization ? { normalization } : { normalize: 'none' }),
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    });
    // The rule of every file fed to a model: the same sample shape, or flat rows.
    if (!fileFitsSampleShape([dataset.count, ...dataset.sampleShape], inputShape)) {
      throw aekitError(
        'InvalidInput',
        `${options.data} holds ${dataset.count} sample(s) of shape [${dataset.sampleShape.join(', ')}] (${dataset.featureCount} values each), but the model's inputs have shape [${inputShape.join(', ')}] (${size(inputShape)} values). Give data of shape [N, ${inputShape.join(', ')}] or [N, ${size(inputShape)}] (a CSV: ${size(inputShape)} columns).`,
      );
    }
    const ids = options.ids ? readIds(options.ids, dataset.count) : undefined;
    const bits = size(codingShape);
    const words = codeWords(bits);
    const data = new Uint32Array(dataset.count * words);
    const started = performance.now();
    const bar = output.interactive
      ? new cliProgress.SingleBar(
          {
            format: 'hashing [{bar}] {value}/{total} | eta {eta_formatted}',
            stream: process.stderr,
            clearOnComplete: true,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
    bar?.start(dataset.count, 0);
    for (let start = 0; start < dataset.count; start += HASH_CHUNK) {
      const chunk = dataset.slice(start, Math.min(dataset.count, start + HASH_CHUNK));
      const codes = await ae.hash({ data: chunk.x, shape: [chunk.count, ...inputShape] });
      data.set(codes.data, start * words);
      bar?.update(start + chunk.count);
    }
    bar?.stop();
    const codes = packedCodesFromWords(data, bits);
    const index = createHashIndex(codes, {
      ...(dataset.labels ? { labels: dataset.labels } : {}),
      ...(ids ? { ids } : {}),
      meta: {
        model: resolve(folder),
        ...(ae.info.variant ? { variant: ae.info.variant } : {}),
        data: options.data,
        split,
        ...(limit ? { limit } : {}),
        ...(raw ? { raw } : {}),
      },
    });
    writeAtomic(options.out, serializeHashIndex(index));
    const { distinct, largest } = bucketStats(codes);
    const seconds = (performance.now() - started) / 1000;
    output.out(
      `hashed ${dataset.count} items of ${options.data} (${split}) to ${options.out}: ${bits}-bit codes, ${distinct} distinct (largest bucket ${largest} items)${dataset.labels ? ', with labels' : ''}${ids ? ', with ids' : ''}, ${fmt(seconds, 3)} s on ${ae.info.device}`,
    );
  } finally {
    await ae.dispose();
  }
}

/** Options of `aekit search`. */
export interface SearchOptions {
  readonly query?: string;
  readonly code?: string;
  readonly radius?: string;
  readonly k?: string;
  readonly model?: string;
  readonly device?: string;
  readonly show?: string;
  readonly json?: boolean;
}

/** The query codes of `aekit search`: `--code HEX`, `--query item:N` or a samples file. */
async function queryCodes(
  index: HashIndex,
  options: SearchOptions,
  output: Output,
): Promise<{ codes: PackedCodes; names: string[] }> {
  const { bits } = index.codes;
  if ((options.code === undefined) === (options.query === undefined)) {
    throw aekitError(
      'InvalidArgument',
      'aekit search needs one of --query (item:N, or a file of samples) and --code (a hex code).',
    );
  }
  if (options.code !== undefined) {
    const code = parseCode(options.code, bits);
    return { codes: packedCodesFromWords(code, bits), names: [`code ${options.code}`] };
  }
  const query = options.query!;
  const item = /^item:(\d+)$/.exec(query);
  if (item) {
    const i = Number(item[1]);
    if (i >= index.codes.count) {
      throw aekitError(
        'InvalidArgument',
        `--query ${query}: the index has items 0 to ${index.codes.count - 1}.`,
      );
    }
    return { codes: packedCodesFromWords(codeAt(index.codes, i), bits), names: [query] };
  }
  const model = options.model ?? (index.meta.model as string | undefined);
  if (!model) {
    throw aekitError(
      'InvalidArgument',
      `--query ${query} must be hashed by the index's model, which the index does not name: give --model RUN.`,
    );
  }
  const ae = await loadAutoencoder(onnxFolder(model), { device: options.device ?? 'auto' });
  try {
    const { inputShape } = ae.info;
    // Query files are normalised as the index's data was (raw when built with --raw).
    const normalization = modelNormalization(ae.info, index.meta.raw === true, output);
    const { data, count } = readSamples(query, inputShape);
    if (normalization) applyNormalization(data, size(inputShape), normalization);
    const codes = await ae.hash({ data, shape: [count, ...inputShape] });
    if (codes.bits !== bits) {
      throw aekitError(
        'InvalidArgument',
        `The model makes ${codes.bits}-bit codes, but the index holds ${bits}-bit codes: search with the model that built it.`,
      );
    }
    return {
      codes,
      names: Array.from({ length: count }, (_, i) => (count === 1 ? query : `${query}[${i}]`)),
    };
  } finally {
    await ae.dispose();
  }
}

/** Label counts of a result, most frequent first: `7×12, 9×3`. */
function labelSummary(labels: Int32Array): string {
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .map(([label, n]) => `${label}×${n}`)
    .join(', ');
}

/**
 * `aekit search INDEX --query … (--radius R | --k K)`: the items of a hash index within a
 * Hamming distance of the query's code, or its k nearest, with the time the search took.
 */
export async function searchCommand(indexPath: string, options: SearchOptions, output: Output) {
  if ((options.radius === undefined) === (options.k === undefined)) {
    throw aekitError(
      'InvalidArgument',
      'aekit search needs one of --radius R (every item within Hamming distance R) and --k K (the K nearest).',
    );
  }
  const radius = numberFlag(options.radius, '--radius', 0);
  const k = numberFlag(options.k, '--k', 1);
  const show = numberFlag(options.show, '--show', 0) ?? 10;
  const index = await loadHashIndex(indexPath);
  const { codes, names } = await queryCodes(index, options, output);
  const results: { query: string; code: string; result: HashSearchResult; ms: number }[] = [];
  for (let q = 0; q < codes.count; q++) {
    const code = codeAt(codes, q);
    const t0 = performance.now();
    const result =
      radius !== undefined ? searchRadius(index, code, radius) : searchNearest(index, code, k!);
    const ms = performance.now() - t0;
    results.push({ query: names[q]!, code: formatCode(codes, q), result, ms });
  }
  if (options.json) {
    output.out(
      JSON.stringify(
        results.map(({ query, code, result, ms }) => ({
          query,
          code,
          milliseconds: ms,
          items: Array.from(result.indices, (item, j) => ({
            item,
            distance: result.distances[j],
            ...(index.ids ? { id: index.ids[item] } : {}),
            ...(index.labels ? { label: index.labels[item] } : {}),
          })),
        })),
        null,
        2,
      ),
    );
    return;
  }
  const how =
    radius !== undefined
      ? `within Hamming distance ${radius} (${searchStrategy(index, radius) === 'enumerate' ? 'looked up by code' : 'a scan of every code'})`
      : `nearest ${k}`;
  for (const { query, code, result, ms } of results) {
    const n = result.indices.length;
    const labels = index.labels ? Int32Array.from(result.indices, (i) => index.labels![i]!) : null;
    output.out(
      `${query} (code ${code}): ${n} of ${index.codes.count} items ${how}, in ${fmt(ms, 3)} ms${labels && n > 0 ? `; labels ${labelSummary(labels)}` : ''}`,
    );
    for (let j = 0; j < Math.min(show, n); j++) {
      const item = result.indices[j]!;
      output.out(
        `  item ${item}${index.ids ? `  id ${index.ids[item]}` : ''}${labels ? `  label ${labels[j]}` : ''}  distance ${result.distances[j]}`,
      );
    }
    if (n > show) output.out(`  … ${n - show} more (--show N, or --json for all)`);
  }
}

/** Registers `aekit hash` and `aekit search`. */
export function registerHash(program: Command, output: Output): void {
  program
    .command('hash')
    .description(
      "Build a hash index of a data set with a semantic-hashing model: each sample's code (its codings rounded to bits, from the exported encoder), packed as bits, with the labels when the data has them. Search it with `aekit search`.",
    )
    .argument('<run>', 'an exported run directory of a model that can hash (variant hashing)')
    .requiredOption('--data <source>', 'mnist, fashion-mnist, or an IDX, NPY or CSV file')
    .option('--split <split>', 'train or test, for built-in data sets', 'train')
    .option('--limit <n>', 'only the first N samples')
    .option('--ids <file>', 'a text file with one id per line, in the order of the samples')
    .requiredOption('--out <file>', 'the index to write (written atomically)')
    .option(
      '--data-dir <dir>',
      "folder with the data set's files, if not where aekit finds them by default",
    )
    .option(
      '--raw',
      "the data is already normalised; hash it as it is (recorded in the index, so that `aekit search` hashes query files the same way). Without it, data is normalised as the model's aekit.json records",
    )
    .addOption(runtimeDeviceOption())
    .addHelpText(
      'after',
      `
Examples:
  aekit hash runs/hashing --data mnist --split train --out mnist.aehash
  aekit search mnist.aehash --query item:0 --radius 1`,
    )
    .action(async (run: string, opts: HashOptions) => {
      await hashCommand(run, opts, output);
    });

  program
    .command('search')
    .description(
      'Find the items of a hash index (from `aekit hash`) within a Hamming distance of a query code, or its k nearest, and time the search.',
    )
    .argument('<index>', 'a hash index written by `aekit hash`')
    .option(
      '--query <query>',
      "item:N (the code of the index's N-th item), or samples to hash (.png, .npy, .csv) with the index's model",
    )
    .option('--code <hex>', 'a code in hex, as `aekit search` prints them')
    .option('--radius <r>', 'every item within this Hamming distance')
    .option('--k <n>', 'the N nearest items (ties by item number)')
    .option('--model <run>', "the model that hashes --query files (default: the index's)")
    .option('--show <n>', 'items to list per query', '10')
    .option('--json', 'print every item found as JSON')
    .addOption(runtimeDeviceOption())
    .addHelpText(
      'after',
      `
Examples:
  aekit search mnist.aehash --query item:0 --radius 1
  aekit search mnist.aehash --query digit.png --k 10
  aekit search mnist.aehash --code 0x2a3b4c5d --radius 2 --json`,
    )
    .action(async (index: string, opts: SearchOptions) => {
      await searchCommand(index, opts, output);
    });
}
