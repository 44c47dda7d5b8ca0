/** The loss chart of the in-page training: training and validation loss per epoch. */

/** One epoch's losses. */
export interface EpochLosses {
  readonly loss: number;
  /** Undefined when nothing was held out. */
  readonly valLoss?: number | undefined;
}

const SERIES = [
  { key: 'loss', label: 'loss', colour: '#4c78a8', dash: [] as number[] },
  { key: 'valLoss', label: 'val loss', colour: '#f58518', dash: [5, 3] },
] as const;

/**
 * Draws the losses of the epochs so far on `canvas`, the x axis spanning `epochs` epochs,
 * with a legend holding the last values; the losses are also kept in the canvas's
 * `data-losses` and `data-val-losses` (JSON arrays) for scripts and tests.
 */
export function drawLosses(
  canvas: HTMLCanvasElement,
  history: readonly EpochLosses[],
  epochs: number,
): void {
  const g = canvas.getContext('2d')!;
  const { width, height } = canvas;
  g.fillStyle = '#fff';
  g.fillRect(0, 0, width, height);
  canvas.dataset.losses = JSON.stringify(history.map((h) => h.loss));
  canvas.dataset.valLosses = JSON.stringify(history.map((h) => h.valLoss ?? null));
  const values = history.flatMap((h) => [h.loss, h.valLoss ?? Number.NaN]).filter(Number.isFinite);
  if (values.length === 0) return;
  const max = Math.max(...values);
  const min = Math.min(...values);
  const x = (i: number) => 20 + (i / Math.max(1, epochs - 1)) * (width - 30);
  const y = (v: number) => height - 15 - ((v - min) / Math.max(1e-9, max - min)) * (height - 40);
  g.lineWidth = 2;
  g.font = '12px sans-serif';
  SERIES.forEach((s, k) => {
    const points = history
      .map((h, i) => [i, h[s.key]] as const)
      .filter((p): p is readonly [number, number] => Number.isFinite(p[1]));
    if (points.length === 0) return;
    g.strokeStyle = s.colour;
    g.fillStyle = s.colour;
    g.setLineDash(s.dash);
    g.beginPath();
    for (const [i, v] of points) {
      if (i === points[0]![0]) g.moveTo(x(i), y(v));
      else g.lineTo(x(i), y(v));
    }
    g.stroke();
    // A dot per epoch, so that a single epoch shows too.
    for (const [i, v] of points) g.fillRect(x(i) - 2, y(v) - 2, 4, 4);
    g.setLineDash([]);
    g.fillText(`${s.label} ${points.at(-1)![1].toFixed(4)}`, 24 + k * 130, 14);
  });
  g.fillStyle = '#1d1d1f';
  g.fillText(`epoch ${history.length}/${epochs}`, width - 80, height - 2);
}
