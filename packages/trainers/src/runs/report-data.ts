import type { EpochMetrics, RunManifest } from '@aekit/core';
import type * as vegaLite from 'vega-lite';
import type { EvaluationReport } from './evaluate.js';

/** One run as a report shows it: what its folder holds, read and checked. */
export interface ReportRun {
  /** The name the report gives it: its folder's name, made unique among the runs. */
  readonly name: string;
  /** Its folder, as given. */
  readonly dir: string;
  readonly manifest: RunManifest;
  /** The lines of metrics.jsonl. */
  readonly metrics: readonly EpochMetrics[];
  /** The PNG figures of figures/, by file name, sorted. */
  readonly figures: readonly ReportFigure[];
  /** Its evaluation, when the report was asked to evaluate the runs. */
  readonly evaluation?: EvaluationReport;
}

/** A figure of a run: its file name in figures/ and its bytes. */
export interface ReportFigure {
  readonly name: string;
  readonly png: Uint8Array;
}

/** One row of the settings table: a setting and its value in each run. */
export interface SettingRow {
  /** Dotted path in the manifest, e.g. `options.layers` or `training.learningRate`. */
  readonly key: string;
  /** Its value in each run, in the runs' order, as text; `undefined` where a run has none. */
  readonly values: readonly (string | undefined)[];
  /** True when the runs do not all have the same value. */
  readonly differs: boolean;
}

/** The metrics keys that are bookkeeping rather than a logged term. */
const BOOKKEEPING = new Set(['epoch', 'phase']);
/** Timings: charted after the loss terms. */
const TIMINGS = ['seconds', 'samplesPerSecond'];

/**
 * The terms to chart, in order: `loss`, `valLoss`, every other numeric term any run logged
 * (in the order first seen), then the timings.
 */
export function reportTerms(runs: readonly ReportRun[]): string[] {
  const seen = new Set<string>();
  for (const run of runs) {
    for (const line of run.metrics) {
      for (const [key, value] of Object.entries(line)) {
        if (!BOOKKEEPING.has(key) && typeof value === 'number') seen.add(key);
      }
    }
  }
  const first = ['loss', 'valLoss'].filter((t) => seen.has(t));
  const timings = TIMINGS.filter((t) => seen.has(t));
  const rest = [...seen].filter((t) => !first.includes(t) && !timings.includes(t));
  return [...first, ...rest, ...timings];
}

/** How a report titles a metrics term. */
export function termTitle(term: string): string {
  const titles: Record<string, string> = {
    loss: 'loss (training)',
    valLoss: 'val_loss (validation)',
    seconds: 'seconds per epoch',
    samplesPerSecond: 'samples per second',
  };
  return titles[term] ?? term;
}

/**
 * The Vega-Lite chart of one term: epoch against value, one line per run in the run's
 * colour (the same in every chart), tooltips on the points, and a legend that picks runs
 * (click one, shift-click more; the others fade).
 */
export function termChart(runs: readonly ReportRun[], term: string): vegaLite.TopLevelSpec {
  const values = runs.flatMap((run) =>
    run.metrics.flatMap((m) => {
      const value = m[term];
      return typeof value === 'number' && Number.isFinite(value)
        ? [{ run: run.name, epoch: m.epoch, value }]
        : [];
    }),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: termTitle(term),
    width: 420,
    height: 220,
    background: 'white',
    data: { values },
    params: [{ name: 'pick', select: { type: 'point', fields: ['run'] }, bind: 'legend' }],
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', title: termTitle(term), scale: { zero: false } },
      color: {
        field: 'run',
        type: 'nominal',
        title: 'run',
        scale: { domain: runs.map((r) => r.name) },
      },
      opacity: { condition: { param: 'pick', value: 1 }, value: 0.12 },
      tooltip: [
        { field: 'run', type: 'nominal' },
        { field: 'epoch', type: 'quantitative' },
        { field: 'value', type: 'quantitative', title: termTitle(term), format: '.5~g' },
      ],
    },
  };
}

/** A manifest value as one line of text: numbers and strings as they are, the rest as JSON. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** The manifest's settings, flattened to dotted keys (`options.layers`, `data.limit`). */
export function manifestSettings(manifest: RunManifest): Map<string, string> {
  const settings = new Map<string, string>();
  settings.set('variant', manifest.variant);
  if (manifest.plugins) settings.set('plugins', text(manifest.plugins));
  const groups: [string, Record<string, unknown> | undefined][] = [
    ['options', manifest.options],
    ['training', manifest.training],
    ['data', manifest.data],
    ['classifier', manifest.classifier],
  ];
  for (const [group, values] of groups) {
    for (const [key, value] of Object.entries(values ?? {})) {
      if (value !== undefined) settings.set(`${group}.${key}`, text(value));
    }
  }
  settings.set('inputShape', text(manifest.inputShape));
  settings.set('codingShape', text(manifest.codingShape));
  settings.set('normalization', text(manifest.normalization));
  if (manifest.phases) settings.set('phases', text(manifest.phases));
  settings.set('status', manifest.status);
  settings.set('epochsCompleted', text(manifest.epochsCompleted));
  if (manifest.onnx) settings.set('onnx.opset', text(manifest.onnx.opset));
  for (const [name, version] of Object.entries(manifest.versions)) {
    settings.set(`versions.${name}`, version);
  }
  return settings;
}

/** The settings of every run side by side, in the order first seen. */
export function settingRows(runs: readonly ReportRun[]): SettingRow[] {
  const each = runs.map((r) => manifestSettings(r.manifest));
  const keys = [...new Set(each.flatMap((s) => [...s.keys()]))];
  return keys.map((key) => {
    const values = each.map((s) => s.get(key));
    return { key, values, differs: new Set(values).size > 1 };
  });
}
