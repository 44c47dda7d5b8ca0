import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { aekitError } from '@aekit/core';
import { RunDirectory, writeAtomic } from '@aekit/core/node';
import * as vegaLite from 'vega-lite';
import { type EvaluateOptions, evaluateRun } from './evaluate.js';
import {
  type ReportFigure,
  type ReportRun,
  reportTerms,
  settingRows,
  termChart,
} from './report-data.js';
import { renderReportHtml } from './report-html.js';

export type { ReportFigure, ReportRun, SettingRow } from './report-data.js';
export { escapeHtml } from './report-html.js';

/** Options of {@link buildReport}. */
export interface ReportOptions {
  /** The page's title (default: `aekit report: NAME, NAME, …`). */
  readonly title?: string;
  /**
   * Evaluate each run on its held-out split (as `aekit eval RUN`) and show the results;
   * runs do not store an evaluation, so without this the report has none.
   */
  readonly evaluate?: boolean | Pick<EvaluateOptions, 'backend' | 'dataDir'>;
  /** Called before each run is evaluated, with its name. */
  readonly onEvaluate?: (run: string) => void;
}

/** Options of {@link writeReport}. */
export interface WriteReportOptions extends ReportOptions {
  /** The HTML file to write. */
  readonly out: string;
  /** Replace `out` if it exists (else an existing file is refused). */
  readonly overwrite?: boolean;
}

/** What {@link writeReport} wrote. */
export interface WriteReportResult {
  /** The file, absolute. */
  readonly out: string;
  readonly bytes: number;
  /** The runs' names in the report, in order. */
  readonly runs: readonly string[];
  /** The terms charted, in order. */
  readonly terms: readonly string[];
}

/**
 * Folder names, made unique: a name that repeats gets its parent folder's name before it,
 * and one that still repeats a number after it.
 */
export function runNames(dirs: readonly string[]): string[] {
  const count = (names: readonly string[], name: string) => names.filter((n) => n === name).length;
  const base = dirs.map((d) => basename(resolve(d)));
  const longer = base.map((name, i) =>
    count(base, name) > 1 ? `${basename(dirname(resolve(dirs[i]!)))}/${name}` : name,
  );
  return longer.map((name, i) =>
    count(longer, name) > 1 ? `${name} (${count(longer.slice(0, i), name) + 1})` : name,
  );
}

/** The PNG files of a run's figures/, read through the run (checked against its manifest). */
function readFigures(run: RunDirectory): ReportFigure[] {
  const folder = run.path('figures');
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((name) => name.endsWith('.png') && statSync(join(folder, name)).isFile())
    .sort()
    .map((name) => ({ name, png: run.readFile(`figures/${name}`) }));
}

/**
 * Reads each run folder for a report: manifest (a folder that is not a run fails with
 * `RunNotFound` or `InvalidManifest`), metrics.jsonl, figures, and with `evaluate` its
 * evaluation.
 */
export async function readReportRuns(
  dirs: readonly string[],
  options: ReportOptions = {},
): Promise<ReportRun[]> {
  if (dirs.length === 0) {
    throw aekitError('InvalidArgument', 'A report needs at least one run directory.');
  }
  const names = runNames(dirs);
  const runs: ReportRun[] = [];
  for (const [i, dir] of dirs.entries()) {
    const run = new RunDirectory(dir);
    const manifest = run.readManifest();
    runs.push({
      name: names[i]!,
      dir,
      manifest,
      metrics: run.readMetrics(),
      figures: readFigures(run),
    });
  }
  if (options.evaluate) {
    const evaluateOptions = options.evaluate === true ? {} : options.evaluate;
    for (const [i, run] of runs.entries()) {
      options.onEvaluate?.(run.name);
      runs[i] = { ...run, evaluation: await evaluateRun(run.dir, evaluateOptions) };
    }
  }
  return runs;
}

/** Vega's browser build (UMD, defines `vega`), read once. */
let vegaSource: string | undefined;
function readVegaSource(): string {
  // `vega` exports only its ES module; its UMD build sits beside it in build/.
  const entry = createRequire(import.meta.url).resolve('vega');
  vegaSource ??= readFileSync(join(dirname(entry), 'vega.min.js'), 'utf8');
  return vegaSource;
}

/**
 * The report of `runs` as one self-contained HTML page (Vega and the figures inlined; it
 * loads nothing): a chart per logged term with the runs overlaid, the evaluation, the
 * figures, the settings side by side with the differing rows marked, and what differs.
 */
export function renderReport(runs: readonly ReportRun[], options: ReportOptions = {}): string {
  const terms = reportTerms(runs);
  return renderReportHtml({
    title: options.title ?? `aekit report: ${runs.map((r) => r.name).join(', ')}`,
    generatedAt: new Date().toISOString(),
    runs,
    charts: terms.map((term) => ({ term, spec: vegaLite.compile(termChart(runs, term)).spec })),
    settings: settingRows(runs),
    vegaSource: readVegaSource(),
  });
}

/** Reads the run folders `dirs` and returns their report (see {@link renderReport}). */
export async function buildReport(
  dirs: readonly string[],
  options: ReportOptions = {},
): Promise<string> {
  return renderReport(await readReportRuns(dirs, options), options);
}

/**
 * Writes the report of the run folders `dirs` to `options.out`, atomically. An existing
 * file is refused (`CannotWrite`) unless `overwrite`; so is a folder.
 */
export async function writeReport(
  dirs: readonly string[],
  options: WriteReportOptions,
): Promise<WriteReportResult> {
  const out = resolve(options.out);
  if (existsSync(out)) {
    if (statSync(out).isDirectory()) {
      throw aekitError('CannotWrite', out, 'it is an existing folder; give a file name.');
    }
    if (!options.overwrite) {
      throw aekitError('CannotWrite', out, 'the file exists; pass --overwrite to replace it.');
    }
  }
  const runs = await readReportRuns(dirs, options);
  const html = renderReport(runs, options);
  writeAtomic(out, html);
  return {
    out,
    bytes: Buffer.byteLength(html),
    runs: runs.map((r) => r.name),
    terms: reportTerms(runs),
  };
}
