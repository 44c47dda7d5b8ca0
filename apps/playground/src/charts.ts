import { formatNumber as format } from '@aekit/core';
/**
 * Charts on a canvas: a plotting area with tick values, axis names and a zero line, drawn at
 * the screen's pixel density so that text and lines stay crisp. Every chart of the page
 * (coding bars, the latent plane, the loss curves) draws its axes here.
 *
 * Drawn by hand rather than with Vega-Lite (which `aekit figures` and `aekit report` use):
 * these charts redraw on every pointer move and every stroke of the pad, within a frame,
 * where a Vega view re-parses and re-lays out its spec; and Vega's runtime would add several
 * hundred kilobytes to a page whose size is tested against a budget.
 */

/** The page's chart colours, matching style.css. */
export const COLOURS = {
  ink: '#1f2430',
  muted: '#5d6475',
  grid: '#e6e8ee',
  axis: '#9aa1b1',
  accent: '#3b5bdb',
  hot: '#e03131',
  second: '#f08c00',
} as const;

/** Ten colours told apart easily, one per digit label (Tableau 10). */
export const LABEL_COLOURS = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
] as const;

const FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

/**
 * A number as aekit writes it (`formatNumber` of `@aekit/core`: 4 significant digits,
 * scientific only below 1e-4), without trailing zeros: 0.1523, 12.5, 0.5.
 */
export const formatNumber = (v: number): string => format(v, 4, true);

/**
 * `values` in words for a screen reader: how many, their range and, when there are few
 * enough to listen to, each of them.
 */
export function describeValues(values: ArrayLike<number>): string {
  const all = Array.from(values);
  const range = `${all.length} values from ${formatNumber(Math.min(...all))} to ${formatNumber(Math.max(...all))}`;
  return all.length <= 64 ? `${range}: ${all.map(formatNumber).join(', ')}` : range;
}

/**
 * About `count` round tick values (steps of 1, 2 or 5 times a power of ten) covering
 * [min, max]; widens an empty range so that a constant series still gets an axis.
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.5 : 1;
    return niceTicks(min - pad, max + pad, count);
  }
  const rough = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((m) => m * power >= rough) ?? 10) * power;
  const ticks: number[] = [];
  for (let t = Math.floor(min / step) * step; t <= max + step * 1e-9; t += step) {
    // Rounded to the step's decimals: 0.30000000000000004 reads as 0.3.
    ticks.push(Number(t.toFixed(Math.max(0, -Math.floor(Math.log10(step)) + 1))));
  }
  if (ticks[ticks.length - 1]! < max) ticks.push(ticks[ticks.length - 1]! + step);
  return ticks;
}

/** A tick value as {@link formatNumber} writes it, with a minus sign rather than a hyphen. */
const tickLabel = (v: number) => formatNumber(v).replace(/^-/, '\u2212');

/** One axis: the range it spans, where its ticks go and its name. */
export interface Axis {
  readonly min: number;
  readonly max: number;
  readonly ticks: readonly number[];
  readonly name: string;
  /** How a tick value reads (default {@link formatNumber}, with a true minus sign). */
  readonly format?: (v: number) => string;
  /** Whether to draw a line at 0 when the axis spans it (default true). */
  readonly zero?: boolean;
}

/** An axis over `ticks` (from the first tick to the last), named `name`. */
export function axisOver(ticks: readonly number[], name: string): Axis {
  return { min: ticks[0]!, max: ticks[ticks.length - 1]!, ticks, name };
}

/** Space around the plotting area, in CSS pixels. */
export interface Margins {
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

const MARGINS: Margins = { left: 46, right: 12, top: 12, bottom: 36 };

/** A chart's plotting area and the mapping from data values to canvas (CSS pixel) points. */
export interface Plot {
  readonly g: CanvasRenderingContext2D;
  /** The plotting area, in CSS pixels of the canvas. */
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
  /** Where a value lands on each axis. */
  x(v: number): number;
  y(v: number): number;
}

/**
 * A canvas for a chart shown `width` x `height` CSS pixels (narrower when its container is),
 * labelled for screen readers.
 */
export function chartCanvas(
  id: string,
  label: string,
  width: number,
  height: number,
): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.id = id;
  canvas.className = 'chart';
  canvas.width = width;
  canvas.height = height;
  canvas.style.width = `${width}px`;
  canvas.dataset.width = String(width);
  canvas.dataset.height = String(height);
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  return canvas;
}

/** The CSS size a chart canvas is drawn at (its layout may scale it down on a phone). */
export function chartSize(canvas: HTMLCanvasElement): { width: number; height: number } {
  return {
    width: Number(canvas.dataset.width) || canvas.width,
    height: Number(canvas.dataset.height) || canvas.height,
  };
}

/**
 * Clears `canvas` to white at the screen's pixel density, draws a grid at the ticks of `x`
 * and `y`, their tick values and names, and a zero line when 0 is inside `y`; returns the
 * plotting area to draw the data in.
 */
export function drawAxes(
  canvas: HTMLCanvasElement,
  x: Axis,
  y: Axis,
  margins: Partial<Margins> = {},
): Plot {
  const m = { ...MARGINS, ...margins };
  const { width, height } = chartSize(canvas);
  const dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
  // Resized only when the density changed: setting the size reallocates the canvas, and the
  // latent plane redraws at every pointer move.
  if (canvas.width !== Math.round(width * dpr)) canvas.width = Math.round(width * dpr);
  if (canvas.height !== Math.round(height * dpr)) canvas.height = Math.round(height * dpr);
  const g = canvas.getContext('2d')!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.fillStyle = '#fff';
  g.fillRect(0, 0, width, height);
  const area = { left: m.left, top: m.top, width: width - m.left - m.right };
  const plotHeight = height - m.top - m.bottom;
  const px = (v: number) => area.left + ((v - x.min) / (x.max - x.min || 1)) * area.width;
  const py = (v: number) => area.top + (1 - (v - y.min) / (y.max - y.min || 1)) * plotHeight;
  const bottom = area.top + plotHeight;
  const right = area.left + area.width;
  const crisp = (v: number) => Math.round(v) + 0.5;

  g.lineWidth = 1;
  g.strokeStyle = COLOURS.grid;
  g.beginPath();
  for (const t of y.ticks) {
    g.moveTo(area.left, crisp(py(t)));
    g.lineTo(right, crisp(py(t)));
  }
  for (const t of x.ticks) {
    g.moveTo(crisp(px(t)), area.top);
    g.lineTo(crisp(px(t)), bottom);
  }
  g.stroke();

  g.strokeStyle = COLOURS.axis;
  g.beginPath();
  g.moveTo(crisp(area.left), area.top);
  g.lineTo(crisp(area.left), crisp(bottom));
  g.lineTo(right, crisp(bottom));
  g.stroke();
  g.strokeStyle = COLOURS.ink;
  g.beginPath();
  if (y.zero !== false && y.min < 0 && y.max > 0) {
    g.moveTo(area.left, crisp(py(0)));
    g.lineTo(right, crisp(py(0)));
  }
  if (x.zero !== false && x.min < 0 && x.max > 0) {
    g.moveTo(crisp(px(0)), area.top);
    g.lineTo(crisp(px(0)), bottom);
  }
  g.stroke();

  g.font = FONT;
  g.fillStyle = COLOURS.muted;
  const fx = x.format ?? tickLabel;
  const fy = y.format ?? tickLabel;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (const t of y.ticks) g.fillText(fy(t), area.left - 5, py(t));
  g.textAlign = 'center';
  g.textBaseline = 'top';
  for (const t of x.ticks) g.fillText(fx(t), px(t), bottom + 4);

  g.fillStyle = COLOURS.ink;
  g.fillText(x.name, area.left + area.width / 2, bottom + 19);
  g.save();
  g.translate(11, area.top + plotHeight / 2);
  g.rotate(-Math.PI / 2);
  g.textBaseline = 'middle';
  g.fillText(y.name, 0, 0);
  g.restore();

  return { g, ...area, height: plotHeight, x: px, y: py };
}

/** A legend of coloured swatches in a row at the top right of the plotting area. */
export function drawLegend(
  plot: Plot,
  entries: readonly { readonly label: string; readonly colour: string }[],
): void {
  const { g } = plot;
  g.font = FONT;
  g.textBaseline = 'middle';
  g.textAlign = 'left';
  const widths = entries.map((e) => g.measureText(e.label).width + 20);
  let at = plot.left + plot.width - widths.reduce((a, b) => a + b, 0) - 4;
  const y = plot.top + 9;
  g.fillStyle = 'rgba(255, 255, 255, 0.85)';
  g.fillRect(at - 4, plot.top + 1, plot.left + plot.width - at + 2, 16);
  entries.forEach((e, k) => {
    g.fillStyle = e.colour;
    g.fillRect(at, y - 4, 9, 9);
    g.fillStyle = COLOURS.ink;
    g.fillText(e.label, at + 13, y);
    at += widths[k]!;
  });
}

/**
 * Draws `values` as bars over unit indices 0..n-1, with a value axis (a zero line when some
 * are negative), unit indices below and the axes named; `highlight` picks the bars drawn
 * red.
 */
export function drawBars(
  canvas: HTMLCanvasElement,
  values: ArrayLike<number>,
  highlight?: (v: number, i: number) => boolean,
  names: { readonly x: string; readonly y: string } = { x: 'coding unit', y: 'value' },
): void {
  const n = values.length;
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < n; i++) {
    lo = Math.min(lo, values[i]!);
    hi = Math.max(hi, values[i]!);
  }
  const y = axisOver(niceTicks(lo, hi, 4), names.y);
  const xTicks = niceTicks(0, n - 1, Math.min(8, n)).filter((t) => t <= n - 1);
  const x: Axis = { min: -0.5, max: n - 0.5, ticks: xTicks, name: names.x, zero: false };
  const plot = drawAxes(canvas, x, y);
  const { g } = plot;
  const w = plot.width / n;
  const base = plot.y(Math.max(y.min, Math.min(y.max, 0)));
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    g.fillStyle = highlight?.(v, i) ? COLOURS.hot : COLOURS.accent;
    const top = plot.y(v);
    g.fillRect(
      plot.x(i) - w / 2 + (w > 3 ? 0.5 : 0),
      Math.min(top, base),
      Math.max(1, w - (w > 3 ? 1 : 0)),
      Math.abs(top - base),
    );
  }
}
