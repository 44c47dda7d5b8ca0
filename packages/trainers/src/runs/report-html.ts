import type { ReportRun, SettingRow } from './report-data.js';

/** What the page of a report is made of, computed beforehand. */
export interface ReportPage {
  readonly title: string;
  readonly generatedAt: string;
  readonly runs: readonly ReportRun[];
  /** One chart per term: its term and its Vega spec (compiled from Vega-Lite). */
  readonly charts: readonly { readonly term: string; readonly spec: unknown }[];
  readonly settings: readonly SettingRow[];
  /** The Vega runtime (its UMD build, which defines `vega`), inlined into the page. */
  readonly vegaSource: string;
}

/** `s` with the characters that mean something in HTML (text or attribute) escaped. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** JSON that can sit inside a `<script>` element: no `<` that could close it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** JavaScript that can sit inside a `<script>` element. */
function scriptCode(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** A number for a table cell: four significant digits, or a dash. */
function num(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return Math.abs(value) >= 1e4 || (value !== 0 && Math.abs(value) < 1e-3)
    ? value.toExponential(3)
    : String(Number(value.toPrecision(4)));
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1b1f24; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.muted { color: #59636e; } code { background: #f2f4f6; padding: 0 3px; border-radius: 3px; }
table { border-collapse: collapse; } th, td { border: 1px solid #d6dbe0; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f2f4f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.differs td { background: #fff4d6; } tr.differs td:first-child { font-weight: 600; }
tr.differs td:first-child::after { content: " ≠"; color: #b35900; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.chart { border: 1px solid #d6dbe0; border-radius: 6px; padding: 6px; min-width: 420px; min-height: 250px; }
.figure-row { display: flex; flex-wrap: wrap; gap: 16px; margin-bottom: 16px; }
figure { margin: 0; } figure img { max-width: 400px; border: 1px solid #d6dbe0; image-rendering: pixelated; }
figcaption { font-size: 12px; color: #59636e; }
ul.differs li { margin: 2px 0; } .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 5px; }
#tooltip { position: fixed; pointer-events: none; background: #1b1f24; color: white; padding: 4px 8px; border-radius: 4px; font-size: 12px; white-space: pre; display: none; z-index: 10; }
.error { color: #b00020; }
`;

/**
 * The page's script: draws each chart with Vega's View (SVG), shows tooltips, and marks
 * each chart `data-rendered` (the body `data-charts="ready"` once all are drawn).
 */
const PAGE_SCRIPT = `
(function () {
  var charts = JSON.parse(document.getElementById('aekit-charts').textContent);
  var tip = document.getElementById('tooltip');
  function tooltip(handler, event, item, value) {
    if (value == null || value === '') { tip.style.display = 'none'; return; }
    tip.textContent = typeof value === 'object'
      ? Object.keys(value).map(function (k) { return k + ': ' + value[k]; }).join('\\n')
      : String(value);
    tip.style.left = (event.clientX + 12) + 'px';
    tip.style.top = (event.clientY + 12) + 'px';
    tip.style.display = 'block';
  }
  Promise.all(charts.map(function (chart, i) {
    var el = document.getElementById('chart-' + i);
    var view = new vega.View(vega.parse(chart.spec), { renderer: 'svg', container: el, hover: true });
    view.tooltip(tooltip);
    return view.runAsync().then(function () {
      el.setAttribute('data-rendered', 'true');
    }, function (error) {
      el.setAttribute('data-error', String(error));
      el.insertAdjacentHTML('beforeend', '<p class="error"></p>');
      el.lastChild.textContent = 'This chart could not be drawn: ' + error;
      throw error;
    });
  })).then(function () {
    document.body.setAttribute('data-charts', 'ready');
  }, function (error) {
    document.body.setAttribute('data-charts', 'failed');
    console.error(error);
  });
})();
`;

/** Vega's default categorical colours (tableau10), as the charts give them to the runs. */
const COLOURS = [
  '#4c78a8',
  '#f58518',
  '#e45756',
  '#72b7b2',
  '#54a24b',
  '#eeca3b',
  '#b279a2',
  '#ff9da6',
  '#9d755d',
  '#bab0ac',
];

function swatch(index: number): string {
  return `<span class="swatch" style="background:${COLOURS[index % COLOURS.length]}"></span>`;
}

function runsTable(runs: readonly ReportRun[]): string {
  const rows = runs.map((run, i) => {
    const m = run.manifest.metrics ?? {};
    return `<tr><td>${swatch(i)}${escapeHtml(run.name)}</td><td><code>${escapeHtml(run.dir)}</code></td><td>${escapeHtml(run.manifest.variant)}</td><td>${escapeHtml(run.manifest.status)}</td><td class="num">${run.manifest.epochsCompleted}</td><td class="num">${num(m.loss)}</td><td class="num">${num(m.valLoss)}</td><td class="num">${num(m.bestValLoss)}</td><td>${escapeHtml(run.manifest.createdAt)}</td></tr>`;
  });
  return `<table id="runs"><thead><tr><th>run</th><th>folder</th><th>variant</th><th>status</th><th>epochs</th><th>loss</th><th>val_loss</th><th>best val_loss</th><th>created</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function differsSummary(runs: readonly ReportRun[], settings: readonly SettingRow[]): string {
  if (runs.length < 2) return '<p id="differs">One run: nothing to compare.</p>';
  const differing = settings.filter((s) => s.differs);
  if (differing.length === 0) {
    return '<p id="differs">The runs have the same settings: they differ only by chance (or by what the manifest does not record).</p>';
  }
  const items = differing.map((row) => {
    const values = row.values
      .map((v, i) => `${escapeHtml(runs[i]!.name)} <code>${escapeHtml(v ?? '(none)')}</code>`)
      .join(' · ');
    return `<li><b>${escapeHtml(row.key)}</b>: ${values}</li>`;
  });
  return `<p>${differing.length} of ${settings.length} settings differ:</p><ul id="differs" class="differs">${items.join('')}</ul>`;
}

function settingsTable(runs: readonly ReportRun[], settings: readonly SettingRow[]): string {
  const head = runs.map((r, i) => `<th>${swatch(i)}${escapeHtml(r.name)}</th>`).join('');
  const rows = settings.map((row) => {
    const cells = row.values.map((v) => `<td>${escapeHtml(v ?? '–')}</td>`).join('');
    const key = escapeHtml(row.key);
    return `<tr${row.differs ? ' class="differs"' : ''} data-key="${key}"><td>${key}</td>${cells}</tr>`;
  });
  return `<table id="settings"><thead><tr><th>setting</th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function evaluationSection(runs: readonly ReportRun[]): string {
  if (!runs.some((r) => r.evaluation)) {
    return '<p id="evaluation" class="muted">No evaluation: runs do not store one. Add <code>--eval</code> to <code>aekit report</code> to score each run on its held-out split here (what <code>aekit eval RUN</code> prints).</p>';
  }
  const measures = [...new Set(runs.flatMap((r) => Object.keys(r.evaluation?.measures ?? {})))];
  const head = [
    'run',
    'split',
    'samples',
    'loss',
    'MSE',
    'mean-image MSE',
    'MSE / mean-image',
    ...measures,
  ]
    .map((h) => `<th>${escapeHtml(h)}</th>`)
    .join('');
  const rows = runs.map((run, i) => {
    const e = run.evaluation;
    if (!e)
      return `<tr><td>${swatch(i)}${escapeHtml(run.name)}</td><td colspan="${6 + measures.length}">not evaluated</td></tr>`;
    const extra = measures.map((k) => `<td class="num">${num(e.measures?.[k])}</td>`).join('');
    return `<tr><td>${swatch(i)}${escapeHtml(run.name)}</td><td>${escapeHtml(e.split)}</td><td class="num">${e.samples}</td><td class="num">${num(e.loss)} <span class="muted">(${escapeHtml(e.lossName)})</span></td><td class="num">${num(e.mse)}</td><td class="num">${num(e.baseline.mse)}</td><td class="num">${num(e.mseRatio)}</td>${extra}</tr>`;
  });
  return `<table id="evaluation"><thead><tr>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function figuresSection(runs: readonly ReportRun[]): string {
  const names = [...new Set(runs.flatMap((r) => r.figures.map((f) => f.name)))].sort();
  if (names.length === 0) {
    return '<p class="muted">No figures: the runs were trained with <code>--no-figures</code>; <code>aekit figures RUN</code> draws them.</p>';
  }
  return names
    .map((name) => {
      const cells = runs.flatMap((run, i) => {
        const figure = run.figures.find((f) => f.name === name);
        if (!figure) return [];
        const src = `data:image/png;base64,${Buffer.from(figure.png).toString('base64')}`;
        const alt = escapeHtml(`${name} of ${run.name}`);
        return [
          `<figure><img src="${src}" alt="${alt}"><figcaption>${swatch(i)}${escapeHtml(run.name)}</figcaption></figure>`,
        ];
      });
      return `<h3>${escapeHtml(name)}</h3><div class="figure-row">${cells.join('')}</div>`;
    })
    .join('');
}

/** The whole report: one HTML document that needs nothing but itself. */
export function renderReportHtml(page: ReportPage): string {
  const { runs, settings, charts } = page;
  const chartDivs = charts
    .map((c, i) => `<div class="chart" id="chart-${i}" data-term="${escapeHtml(c.term)}"></div>`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(page.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(page.title)}</h1>
<p class="muted">Written by <code>aekit report</code> on ${escapeHtml(page.generatedAt)}: ${runs.length} run${runs.length === 1 ? '' : 's'}.</p>
<h2>Runs</h2>
${runsTable(runs)}
<h2>What differs</h2>
${differsSummary(runs, settings)}
<h2>Curves</h2>
<p class="muted">One chart per logged term. Hover a point for its value; click a run in a legend to pick it, shift-click to pick more, click the background to show all.</p>
<div class="charts">${chartDivs}</div>
<h2>Evaluation</h2>
${evaluationSection(runs)}
<h2>Settings</h2>
${settingsTable(runs, settings)}
<h2>Figures</h2>
${figuresSection(runs)}
<div id="tooltip"></div>
<script id="aekit-charts" type="application/json">${scriptJson(charts)}</script>
<script>${scriptCode(page.vegaSource)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
