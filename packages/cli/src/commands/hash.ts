import { basename } from 'node:path';
import { aekitError } from '@aekit/core';
import { searchNearest, searchRadius, searchStrategy } from '@aekit/core/hashing';
import { type HashTable, loadIndexIntoTable, openHashTable } from '@aekit/postgres';
import {
  buildHashIndex,
  codeAt,
  formatCode,
  type HashSearchResult,
  hashQueries,
  loadHashIndex,
} from '@aekit/runtime-web';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { numberFlag, runtimeDeviceOption } from '../flags.js';
import { fmt, type Output } from '../output.js';

/** Options of `aekit hash`. */
export interface HashOptions {
  readonly data: string;
  readonly split?: string;
  readonly limit?: string;
  readonly ids?: string;
  readonly out?: string;
  /** A PostgreSQL connection string (`postgres://…[?table=NAME]`) to append the codes to. */
  readonly to?: string;
  readonly device?: string;
  readonly dataDir?: string;
  /** `--raw`: the data is already normalised (recorded in the index's meta as `raw: true`). */
  readonly raw?: boolean;
  /** false (`--no-normalize`): as `raw`. */
  readonly normalize?: boolean;
  /** false (`--no-check-scale`): the data is not compared with the model's normalisation. */
  readonly checkScale?: boolean;
}

/** Whether `text` names a PostgreSQL database (a `postgres://` or `postgresql://` URL). */
const isDatabaseUrl = (text: string): boolean => /^postgres(ql)?:\/\//i.test(text);

/** A progress bar on stderr where it is a terminal: `label [bar] value/total | eta`. */
function progressBar(output: Output, label: string): cliProgress.SingleBar | undefined {
  if (!output.interactive) return undefined;
  return new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} | eta {eta_formatted}`,
      stream: process.stderr,
      clearOnComplete: true,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
}

/**
 * `aekit hash RUN --data SRC --out INDEX | --to postgres://…`: `buildHashIndex` of
 * `@aekit/runtime-web`, then the index written to a file, or appended to a PostgreSQL table
 * (`loadIndexIntoTable` of `@aekit/postgres`), with progress bars on a terminal and a
 * summary line.
 */
export async function hashCommand(run: string, options: HashOptions, output: Output) {
  if ((options.out === undefined) === (options.to === undefined)) {
    throw aekitError(
      'InvalidArgument',
      'aekit hash needs one of --out FILE (an index file) and --to postgres://… (a database table).',
    );
  }
  if (options.to !== undefined && !isDatabaseUrl(options.to)) {
    throw aekitError(
      'InvalidArgument',
      `--to ${options.to}: give a PostgreSQL connection string, postgres://user@host:5432/db (add ?table=NAME for a table other than aekit_hash).`,
    );
  }
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'test') {
    throw aekitError('InvalidArgument', `--split must be train or test, not "${options.split}".`);
  }
  const limit = numberFlag(options.limit, '--limit', 0);
  const started = performance.now();
  const bar = progressBar(output, 'hashing');
  let barStarted = false;
  const built = await buildHashIndex(run, {
    data: options.data,
    split,
    ...(options.out !== undefined ? { out: options.out } : {}),
    ...(limit ? { limit } : {}),
    ...(options.ids ? { idsFile: options.ids } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.raw || options.normalize === false ? { raw: true } : {}),
    ...(options.checkScale === false ? { checkScale: false } : {}),
    ...(options.device ? { device: options.device } : {}),
    onNotice: (text) => output.err(text),
    onProgress: (done, count) => {
      if (!barStarted) bar?.start(count, 0);
      barStarted = true;
      bar?.update(done);
    },
  }).finally(() => bar?.stop());
  const { index, bits, distinct, largest, device } = built;
  const seconds = (performance.now() - started) / 1000;
  const what = `${index.codes.count} items of ${options.data} (${split})`;
  const codes = `${bits}-bit codes, ${distinct} distinct (largest bucket ${largest} items)${index.labels ? ', with labels' : ''}${index.ids ? ', with ids' : ''}`;
  if (options.out !== undefined) {
    output.out(`hashed ${what} to ${options.out}: ${codes}, ${fmt(seconds, 3)} s on ${device}`);
    return;
  }
  output.out(`hashed ${what}: ${codes}, ${fmt(seconds, 3)} s on ${device}`);
  const loading = progressBar(output, 'loading');
  loading?.start(index.codes.count, 0);
  const t0 = performance.now();
  // Items without --ids get ids from the data and their number, so that loading the same
  // data again adds nothing.
  const builtIn = options.data === 'mnist' || options.data === 'fashion-mnist';
  const report = await loadIndexIntoTable(options.to, index, {
    idPrefix: builtIn ? `${options.data}/${split}:` : `${basename(options.data)}:`,
    onProgress: (p) => loading?.update(p.read),
  }).finally(() => loading?.stop());
  const loadSeconds = (performance.now() - t0) / 1000;
  const skipped = report.read - report.inserted;
  output.out(
    `loaded into table "${report.table}": ${report.inserted} added${skipped ? `, ${skipped} already there (same ids)` : ''}, ${report.rows} rows now; ${fmt(report.read / loadSeconds, 3)} items/s in ${report.batches} batch(es)`,
  );
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
  /** false (`--no-check-scale`): query files are not compared with the model's normalisation. */
  readonly checkScale?: boolean;
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
  if (isDatabaseUrl(indexPath)) {
    const table = await openHashTable(indexPath);
    try {
      await searchTable(table, { ...options, radius, k, show }, output);
    } finally {
      await table.close();
    }
    return;
  }
  const index = await loadHashIndex(indexPath);
  const { codes, names } = await hashQueries(index, {
    ...(options.query !== undefined ? { query: options.query } : {}),
    ...(options.code !== undefined ? { code: options.code } : {}),
    ...(options.model !== undefined ? { model: options.model } : {}),
    ...(options.device ? { device: options.device } : {}),
    ...(options.checkScale === false ? { checkScale: false } : {}),
    onNotice: (text) => output.err(text),
  });
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

/**
 * `aekit search postgres://… …`: the same search in a database table (`@aekit/postgres`),
 * saying for each query whether the substring indexes or a scan answered and how many rows
 * it examined.
 */
async function searchTable(
  table: HashTable,
  options: Omit<SearchOptions, 'radius' | 'k' | 'show'> & {
    radius?: number;
    k?: number;
    show: number;
  },
  output: Output,
): Promise<void> {
  const { radius, k, show } = options;
  const { codes, names } = await hashQueries(
    { bits: table.bits, description: `the table "${table.table}"` },
    {
      ...(options.query !== undefined ? { query: options.query } : {}),
      ...(options.code !== undefined ? { code: options.code } : {}),
      ...(options.model !== undefined ? { model: options.model } : {}),
      ...(options.device ? { device: options.device } : {}),
      ...(options.checkScale === false ? { checkScale: false } : {}),
      onNotice: (text) => output.err(text),
    },
  );
  const rows = await table.count();
  const found = [];
  for (let q = 0; q < codes.count; q++) {
    const code = codeAt(codes, q);
    const t0 = performance.now();
    const result =
      radius !== undefined
        ? await table.searchRadius(code, radius)
        : await table.searchNearest(code, k!);
    found.push({
      query: names[q]!,
      code: formatCode(codes, q),
      result,
      ms: performance.now() - t0,
    });
  }
  if (options.json) {
    output.out(
      JSON.stringify(
        found.map(({ query, code, result, ms }) => ({
          query,
          code,
          milliseconds: ms,
          strategy: result.strategy,
          candidates: result.candidates,
          items: result.items.map((item, j) => ({
            item,
            distance: result.distances[j],
            id: result.ids[j],
            ...(result.labels[j] !== null ? { label: result.labels[j] } : {}),
          })),
        })),
        null,
        2,
      ),
    );
    return;
  }
  const how = radius !== undefined ? `within Hamming distance ${radius}` : `nearest ${k}`;
  for (const { query, code, result, ms } of found) {
    const n = result.items.length;
    const by =
      result.strategy === 'index'
        ? `looked up by substrings, ${result.candidates} rows examined`
        : `a scan of every row, ${result.candidates} rows examined`;
    const labels = result.labels.filter((l): l is number => l !== null);
    output.out(
      `${query} (code ${code}): ${n} of ${rows} items ${how} (${by}), in ${fmt(ms, 3)} ms${labels.length ? `; labels ${labelSummary(Int32Array.from(labels))}` : ''}`,
    );
    for (let j = 0; j < Math.min(show, n); j++) {
      const label = result.labels[j];
      output.out(
        `  item ${result.items[j]}  id ${result.ids[j]}${label !== null ? `  label ${label}` : ''}  distance ${result.distances[j]}`,
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
    .option('--out <file>', 'the index file to write (written atomically)')
    .option(
      '--to <postgres-url>',
      'instead of --out: append the codes to a PostgreSQL table, postgres://user@host:5432/db[?table=NAME] (created when missing; ids already there are skipped)',
    )
    .option(
      '--data-dir <dir>',
      "folder with the data set's files, if not where aekit finds them by default",
    )
    .option(
      '--raw',
      "the data is already normalised; hash it as it is (recorded in the index, so that `aekit search` hashes query files the same way). Without it, data is normalised as the model's aekit.json records",
    )
    .option('--no-normalize', 'the same as --raw')
    .option(
      '--no-check-scale',
      "do not compare the data's range with the model's normalisation (recorded in the index, so that `aekit search` does not either). By default data that contradicts it is refused (InputScaleMismatch): values in [0, 1] for a model that normalises 0..255 pixels itself (pass --raw), or 0..255 with --raw",
    )
    .addOption(runtimeDeviceOption())
    .addHelpText(
      'after',
      `
Examples:
  aekit hash runs/hashing --data mnist --split train --out mnist.aehash
  aekit search mnist.aehash --query item:0 --radius 1
  aekit hash runs/hashing --data mnist --to postgres://localhost/docs?table=mnist`,
    )
    .action(async (run: string, opts: HashOptions) => {
      await hashCommand(run, opts, output);
    });

  program
    .command('search')
    .description(
      'Find the items of a hash index (from `aekit hash`) within a Hamming distance of a query code, or its k nearest, and time the search.',
    )
    .argument(
      '<index>',
      'a hash index written by `aekit hash --out`, or a PostgreSQL table it loaded (postgres://user@host/db?table=NAME)',
    )
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
    .option(
      '--no-check-scale',
      "do not compare --query files' range with the model's normalisation. By default they are refused (InputScaleMismatch) when on another scale than the index's data: raw values (MNIST: 0..255), or normalised ones for an index built with --raw",
    )
    .addOption(runtimeDeviceOption())
    .addHelpText(
      'after',
      `
Examples:
  aekit search mnist.aehash --query item:0 --radius 1
  aekit search mnist.aehash --query digit.png --k 10
  aekit search mnist.aehash --code 0x2a3b4c5d --radius 2 --json
  aekit search postgres://localhost/docs?table=mnist --query digit.png --model runs/hashing --k 10`,
    )
    .action(async (index: string, opts: SearchOptions) => {
      await searchCommand(index, opts, output);
    });
}
