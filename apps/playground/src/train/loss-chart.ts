/** The loss chart of the in-page training: training and validation loss per epoch. */
import {
  type Axis,
  axisOver,
  COLOURS,
  drawAxes,
  drawLegend,
  formatNumber,
  niceTicks,
} from '../charts.js';

/** One epoch's losses. */
export interface EpochLosses {
  readonly loss: number;
  /** Undefined when nothing was held out. */
  readonly valLoss?: number | undefined;
}

const SERIES = [
  { key: 'loss', label: 'loss', colour: COLOURS.accent, dash: [] as number[] },
  { key: 'valLoss', label: 'val loss', colour: COLOURS.second, dash: [5, 3] },
] as const;

/** The epoch axis: 1 to `epochs`, whole epochs only. */
function epochAxis(epochs: number, done: number): Axis {
  const name = `epoch (${done} of ${epochs})`;
  if (epochs <= 1) return { min: 0.5, max: 1.5, ticks: [1], name };
  const ticks = niceTicks(1, epochs, Math.min(epochs - 1, 6)).filter(
    (t) => Number.isInteger(t) && t >= 1 && t <= epochs,
  );
  if (ticks[0] !== 1) ticks.unshift(1);
  return { min: 1, max: epochs, ticks, name };
}

/**
 * Draws the losses of the epochs so far on `canvas`, the x axis spanning `epochs` epochs and
 * the y axis named `lossName` (what the variant's loss is, in its unit), with a legend
 * holding the last values; the losses are also kept in the canvas's `data-losses` and
 * `data-val-losses` (JSON arrays) for scripts and tests.
 */
export function drawLosses(
  canvas: HTMLCanvasElement,
  history: readonly EpochLosses[],
  epochs: number,
  lossName = 'loss',
): void {
  canvas.dataset.losses = JSON.stringify(history.map((h) => h.loss));
  canvas.dataset.valLosses = JSON.stringify(history.map((h) => h.valLoss ?? null));
  const values = history.flatMap((h) => [h.loss, h.valLoss ?? Number.NaN]).filter(Number.isFinite);
  if (values.length === 0) return;
  const plot = drawAxes(
    canvas,
    epochAxis(epochs, history.length),
    axisOver(niceTicks(Math.min(...values), Math.max(...values), 4), lossName),
    { left: 54 },
  );
  const { g } = plot;
  g.lineWidth = 2;
  const legend: { label: string; colour: string }[] = [];
  for (const s of SERIES) {
    const points = history
      .map((h, i) => [i + 1, h[s.key]] as const)
      .filter((p): p is readonly [number, number] => Number.isFinite(p[1]));
    if (points.length === 0) continue;
    g.strokeStyle = s.colour;
    g.fillStyle = s.colour;
    g.setLineDash(s.dash);
    g.beginPath();
    points.forEach(([e, v], k) => {
      if (k === 0) g.moveTo(plot.x(e), plot.y(v));
      else g.lineTo(plot.x(e), plot.y(v));
    });
    g.stroke();
    g.setLineDash([]);
    // A dot per epoch, so that a single epoch shows too.
    for (const [e, v] of points) {
      g.beginPath();
      g.arc(plot.x(e), plot.y(v), 3, 0, 2 * Math.PI);
      g.fill();
    }
    legend.push({ label: `${s.label} ${formatNumber(points.at(-1)![1])}`, colour: s.colour });
  }
  g.lineWidth = 1;
  drawLegend(plot, legend);
}
