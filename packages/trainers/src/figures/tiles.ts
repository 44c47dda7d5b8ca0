import type * as vegaLite from 'vega-lite';
import type { LayerSpec } from 'vega-lite/types_unstable/spec/layer.js';
import { specToPng } from './chart.js';

/** One image of a {@link tileFigureSpec}: a PNG and, under it, a caption. */
export interface Tile {
  readonly png: Buffer;
  /** Drawn under the image, e.g. an activation `3.21`; an array is drawn line by line. */
  readonly caption?: string | readonly string[];
}

/** A colour scale drawn as a legend: what colour means, e.g. a weight from -0.3 to 0.3. */
export interface ColourScale {
  readonly title: string;
  /** Values at the stops of `colours`, increasing. */
  readonly domain: readonly number[];
  /** CSS colours, one per value of `domain`; the images interpolate linearly in RGB. */
  readonly colours: readonly string[];
}

/** Options of {@link tileFigureSpec}. */
export interface TileFigureOptions {
  readonly title: string;
  /** Lines under the title. */
  readonly subtitle?: string | readonly string[];
  /** Rows of images, all of one size. */
  readonly rows: readonly (readonly Tile[])[];
  /** One label left of each row, e.g. `unit 12`. */
  readonly rowLabels?: readonly string[];
  readonly colourScale?: ColourScale;
}

/** Width and height of a PNG, from its header. */
export function pngSize(png: Buffer): [number, number] {
  return [png.readUInt32BE(16), png.readUInt32BE(20)];
}

const dataUrl = (png: Buffer) => `data:image/png;base64,${png.toString('base64')}`;

/** Room left of the tiles for row labels, between columns, and per line of caption. */
const LABEL_WIDTH = 64;
const GAP = 6;
const CAPTION_HEIGHT = 14;

/**
 * A grid of images as a Vega-Lite chart: a title, the images (drawn pixel for pixel, not
 * smoothed), a caption under each, a label left of each row and, where colour means a
 * value, its scale as a legend.
 */
export function tileFigureSpec(options: TileFigureOptions): vegaLite.TopLevelSpec {
  const first = options.rows.flat()[0];
  const [w, h] = first ? pngSize(first.png) : [1, 1];
  const lines = (t: Tile) =>
    t.caption === undefined ? 0 : typeof t.caption === 'string' ? 1 : t.caption.length;
  const captionLines = Math.max(0, ...options.rows.flat().map(lines));
  const captioned = captionLines > 0;
  const left = options.rowLabels ? LABEL_WIDTH : 0;
  const cellW = w + GAP;
  const cellH = h + GAP + captionLines * CAPTION_HEIGHT;
  const cols = Math.max(1, ...options.rows.map((r) => r.length));
  const width = left + cols * cellW;
  const height = Math.max(1, options.rows.length * cellH);
  const tiles = options.rows.flatMap((row, r) =>
    row.map((tile, c) => ({
      x: left + c * cellW,
      y: r * cellH,
      cx: left + c * cellW + w / 2,
      cy: r * cellH + h + 2,
      url: dataUrl(tile.png),
      caption: tile.caption ?? '',
    })),
  );
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    scale: { domain: [0, width], nice: false, zero: false },
    axis: null,
  };
  const y = {
    field: 'y',
    type: 'quantitative' as const,
    scale: { domain: [0, height], nice: false, zero: false, reverse: true },
    axis: null,
  };
  const subtitle = options.subtitle;
  const layers: LayerSpec<string>['layer'] = [
    {
      data: { values: tiles },
      mark: { type: 'image', width: w, height: h, align: 'left', baseline: 'top', smooth: false },
      encoding: { x, y, url: { field: 'url', type: 'nominal' } },
    },
  ];
  if (captioned) {
    layers.push({
      data: { values: tiles },
      mark: { type: 'text', baseline: 'top', align: 'center', fontSize: 10, color: '#333' },
      encoding: {
        x: { ...x, field: 'cx' },
        y: { ...y, field: 'cy' },
        text: { field: 'caption', type: 'nominal' },
      },
    });
  }
  if (options.rowLabels) {
    layers.push({
      data: {
        values: options.rowLabels.map((label, r) => ({ x: left - 8, y: r * cellH + h / 2, label })),
      },
      mark: { type: 'text', baseline: 'middle', align: 'right', fontSize: 11 },
      encoding: { x, y, text: { field: 'label', type: 'nominal' } },
    });
  }
  const scale = options.colourScale;
  if (scale) {
    // Invisible points that carry the colour scale, so that Vega-Lite draws its legend.
    layers.push({
      data: { values: scale.domain.map((v) => ({ x: 0, y: 0, v })) },
      mark: { type: 'square', opacity: 0 },
      encoding: {
        x,
        y,
        color: {
          field: 'v',
          type: 'quantitative',
          title: scale.title,
          scale: { domain: [...scale.domain], range: [...scale.colours], interpolate: 'rgb' },
          legend: { gradientLength: Math.min(240, Math.max(80, height - 40)), format: '.3~g' },
        },
      },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: subtitle
      ? { text: options.title, subtitle: subtitle as string | string[], anchor: 'start' }
      : { text: options.title, anchor: 'start' },
    width,
    height,
    background: 'white',
    padding: 12,
    view: { stroke: null },
    layer: layers,
  };
}

/** {@link tileFigureSpec} drawn as PNG. */
export function tileFigurePng(options: TileFigureOptions): Promise<Buffer> {
  return specToPng(tileFigureSpec(options));
}

/** Parses a `#rrggbb` colour into 0..1 channels. */
function rgbOf(colour: string): [number, number, number] {
  const n = Number.parseInt(colour.slice(1), 16);
  return [((n >> 16) & 255) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
}

/**
 * Maps one-channel values to RGB (`[n * 3]`, in [0, 1]) through a {@link ColourScale}
 * whose colours are `#rrggbb`, linearly in RGB between stops, clamped at the ends: the
 * images then match the legend Vega-Lite draws for the same scale.
 */
export function colourise(values: Float32Array, scale: ColourScale): Float32Array {
  const stops = scale.colours.map(rgbOf);
  const domain = scale.domain;
  const out = new Float32Array(values.length * 3);
  values.forEach((v, i) => {
    let k = 0;
    while (k < domain.length - 2 && v > domain[k + 1]!) k++;
    const span = domain[k + 1]! - domain[k]!;
    const t = Math.max(0, Math.min(1, span > 0 ? (v - domain[k]!) / span : 0));
    for (let ch = 0; ch < 3; ch++) {
      out[i * 3 + ch] = stops[k]![ch]! + t * (stops[k + 1]![ch]! - stops[k]![ch]!);
    }
  });
  return out;
}
