import type { Dataset, RunManifest } from '@aekit/core';
import { imageGrid, type RunDirectory } from '@aekit/core/node';
import type * as vegaLite from 'vega-lite';
import type { AutoencoderModel } from '../plugin.js';
import { specToPng } from './chart.js';
import {
  codingMap,
  codingsOf,
  dreams,
  type FeatureData,
  firstLayerFeatures,
  liveliestUnits,
  topActivations,
} from './inside.js';
import { type ColourScale, colourise, type TileFigureOptions, tileFigurePng } from './tiles.js';

/** A value as a figure prints it: three significant digits. */
export const formatValue = (v: number) =>
  Math.abs(v) >= 1000 ? v.toExponential(2) : v.toPrecision(3);

/** Diverging colours of weights: negative blue, zero white, positive red (ColorBrewer RdBu). */
const WEIGHT_COLOURS = ['#2166ac', '#f7f7f7', '#b2182b'] as const;

/**
 * features.png: each unit's first-layer weights as an image, labelled with the unit, on one
 * diverging colour scale shared by every unit (blue negative, white 0, red positive, up to
 * the largest |weight| shown), drawn as its legend. Three-channel filters, whose colour is
 * the image's own, are drawn on a grey scale per channel from -max to +max.
 */
export function featuresFigure(features: FeatureData, variant: string): TileFigureOptions {
  let m = 1e-12;
  for (const img of features.images) for (const v of img) m = Math.max(m, Math.abs(v));
  const scale: ColourScale = { title: 'weight', domain: [-m, 0, m], colours: WEIGHT_COLOURS };
  const [h, w, c] = features.shape as [number, number, number];
  const tiles = features.images.map((img, k) => ({
    png:
      c === 1
        ? imageGrid([[colourise(img, scale)]], { sampleShape: [h, w, 3], range: [0, 1], gap: 0 })
        : imageGrid([[img]], { sampleShape: features.shape, range: [-m, m], gap: 0 }),
    caption: `unit ${features.units[k]}`,
  }));
  return {
    title: `${variant}: first-layer features (${features.layer})`,
    subtitle: `each unit's weights on the inputs, ${features.shape.join('x')}`,
    rows: rowsOf(tiles, 8),
    ...(c === 1 ? { colourScale: scale } : {}),
  };
}

/** What {@link topActivationsFigure} and {@link dreamsFigure} draw. */
export interface UnitImages {
  readonly variant: string;
  /** The coding units shown, one per row (top activations) or image (dreams). */
  readonly units: readonly number[];
  /** Per unit, its images (inputs of the data's shape). */
  readonly images: readonly (readonly Float32Array[])[];
  /** Per unit, its activation on each image. */
  readonly activations: readonly (readonly number[])[];
  readonly sampleShape: readonly number[];
  /** The data's range: drawn black to white. */
  readonly range: readonly [number, number];
}

/**
 * top-activations.png: a row per unit, labelled with it, of the training inputs that
 * excite it most, each with the unit's activation under it.
 */
export function topActivationsFigure(shown: UnitImages, searched: number): TileFigureOptions {
  const top = Math.max(0, ...shown.images.map((row) => row.length));
  return {
    title: `${shown.variant}: the ${top} training inputs that excite each coding unit most`,
    subtitle: [
      `the ${shown.units.length} liveliest units (largest variance) over ${searched} training samples`,
      "under each input: the unit's activation",
    ],
    rowLabels: shown.units.map((u) => `unit ${u}`),
    rows: shown.images.map((row, r) =>
      row.map((img, k) => ({
        png: imageGrid([[img]], { sampleShape: shown.sampleShape, range: shown.range, gap: 0 }),
        caption: formatValue(shown.activations[r]![k]!),
      })),
    ),
  };
}

/**
 * dreams.png: each unit's dream (one image per unit, from {@link dreams}), captioned with the
 * unit, its activation on the dream and on its best training input (`best`).
 */
export function dreamsFigure(
  dreamt: UnitImages,
  best: readonly number[],
  steps: number,
): TileFigureOptions {
  return {
    title: `${dreamt.variant}: the input each coding unit dreams of`,
    subtitle: [
      `gradient ascent on the unit's activation, ${steps} steps from a faint random image`,
      'under each: the unit, its activation on the dream / on its best training input',
    ],
    rows: rowsOf(
      dreamt.units.map((u, k) => ({
        png: imageGrid([[dreamt.images[k]![0]!]], {
          sampleShape: dreamt.sampleShape,
          range: dreamt.range,
          gap: 0,
        }),
        caption: [
          `unit ${u}`,
          `${formatValue(dreamt.activations[k]![0]!)} / ${formatValue(best[k]!)}`,
        ],
      })),
      8,
    ),
  };
}

/** Options of {@link drawInsideFigures}. */
export interface InsideOptions {
  /** Units shown in features.png, top-activations.png and dreams.png (default 16). */
  readonly units?: number;
  /** Inputs shown per unit in top-activations.png (default 8). */
  readonly top?: number;
  /** Training samples searched for the top activations (default 5,000). */
  readonly searched?: number;
  /** Held-out samples placed on map.png (default 2,000). */
  readonly mapSamples?: number;
  /** Gradient-ascent steps of each dream (default 200). */
  readonly dreamSteps?: number;
  readonly seed?: number;
  /**
   * Called as each figure starts (`features`, `top-activations`, `dreams`, `map`, and in
   * `drawFigures` `samples` and `loss`), for progress: some take seconds.
   */
  readonly onFigure?: (name: string) => void;
}

/** Rows of `perRow` items. */
function rowsOf<T>(images: readonly T[], perRow: number): T[][] {
  const rows: T[][] = [];
  for (let i = 0; i < images.length; i += perRow) rows.push(images.slice(i, i + perRow));
  return rows;
}

function rangeOf(x: Float32Array): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

const isImageShape = (shape: readonly number[]) =>
  shape.length === 3 && (shape[2] === 1 || shape[2] === 3);

/** Sample `i` of `data`. */
const sampleOf = (data: Dataset, i: number) =>
  data.x.subarray(i * data.featureCount, (i + 1) * data.featureCount);

/** Size of the map's plot, and of a thumbnail on it, in pixels. */
const MAP_SIZE = { width: 560, height: 480, thumbnail: 26 } as const;

/** The extent of `points` on each axis, widened by 4% so no point sits on the frame. */
function mapDomains(points: readonly [number, number][]): [[number, number], [number, number]] {
  const domain = (axis: 0 | 1): [number, number] => {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const p of points) {
      lo = Math.min(lo, p[axis]);
      hi = Math.max(hi, p[axis]);
    }
    const pad = Math.max(1e-9, hi - lo) * 0.04;
    return [lo - pad, hi + pad];
  };
  return [domain(0), domain(1)];
}

/**
 * Up to `count` points of the map for thumbnails, none overlapping another: candidates in
 * an order spread over the samples (every `n / count`-th first, then the rest), each kept
 * when its thumbnail, centred on it in the drawn plot, stays clear of those kept before.
 */
export function thumbnailPlaces(points: readonly [number, number][], count: number): number[] {
  const [[x0, x1], [y0, y1]] = mapDomains(points);
  const px = (p: readonly [number, number]): [number, number] => [
    ((p[0] - x0) / (x1 - x0)) * MAP_SIZE.width,
    ((p[1] - y0) / (y1 - y0)) * MAP_SIZE.height,
  ];
  const n = points.length;
  const stride = Math.max(1, Math.floor(n / count));
  const order = [
    ...Array.from({ length: Math.min(count, n) }, (_, t) => t * stride),
    ...Array.from({ length: n }, (_, i) => i).filter((i) => i % stride !== 0),
  ];
  const kept: number[] = [];
  const side = MAP_SIZE.thumbnail + 2;
  for (const i of order) {
    if (kept.length >= count) break;
    const [x, y] = px(points[i]!);
    const clear = kept.every((k) => {
      const [kx, ky] = px(points[k]!);
      return Math.abs(kx - x) >= side || Math.abs(ky - y) >= side;
    });
    if (clear) kept.push(i);
  }
  return kept;
}

/** The 2-D map as a Vega-Lite scatter plot coloured by label, with a few thumbnails. */
async function mapPng(
  points: readonly [number, number][],
  labels: Int32Array | undefined,
  thumbnails: { index: number; png: Buffer }[],
  title: string,
): Promise<Buffer> {
  return specToPng(mapSpec(points, labels, thumbnails, title));
}

/** The Vega-Lite spec of {@link mapPng}. */
export function mapSpec(
  points: readonly [number, number][],
  labels: Int32Array | undefined,
  thumbnails: { index: number; png: Buffer }[],
  title: string,
): vegaLite.TopLevelSpec {
  const [xDomain, yDomain] = mapDomains(points);
  // Fixed domains: a thumbnail is where thumbnailPlaces reckoned, clear of the others.
  const x = { field: 'x', type: 'quantitative' as const, scale: { domain: xDomain, nice: false } };
  const y = { field: 'y', type: 'quantitative' as const, scale: { domain: yDomain, nice: false } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: title,
      subtitle: 'points near each other have codings near each other; axes have no units',
      anchor: 'start',
    },
    width: MAP_SIZE.width,
    height: MAP_SIZE.height,
    background: 'white',
    layer: [
      {
        data: {
          values: points.map(([x, y], i) => ({ x, y, label: labels ? String(labels[i]) : '' })),
        },
        mark: { type: 'circle', size: 14, opacity: 0.7 },
        encoding: {
          x: { ...x, title: 'UMAP 1', axis: { labels: false, ticks: false, grid: false } },
          y: { ...y, title: 'UMAP 2', axis: { labels: false, ticks: false, grid: false } },
          color: labels
            ? { field: 'label', type: 'nominal', title: 'label', scale: { scheme: 'category10' } }
            : { value: '#4c78a8' },
        },
      },
      {
        data: {
          values: thumbnails.map(({ index, png }) => ({
            x: points[index]![0],
            y: points[index]![1],
            url: `data:image/png;base64,${png.toString('base64')}`,
          })),
        },
        mark: { type: 'image', width: MAP_SIZE.thumbnail, height: MAP_SIZE.thumbnail },
        encoding: { x, y, url: { field: 'url', type: 'nominal' } },
      },
    ],
  };
}

/**
 * `aekit figures`: writes figures/features.png (first-layer weights of the first units),
 * top-activations.png (for the liveliest coding units, the training inputs that excite
 * each most), dreams.png (for the same units, the input gradient ascent finds), map.png
 * (held-out codings in 2-D by UMAP, coloured by label, with thumbnails) and, beside each
 * figure but the map, a JSON file of its data; map.json holds the points. Returns the
 * paths written. Figures that do not apply (features of a network whose first layer is not
 * on the inputs, image figures of non-image data) are skipped.
 */
export async function drawInsideFigures(
  run: RunDirectory,
  manifest: RunManifest,
  model: AutoencoderModel,
  train: Dataset,
  heldOut: Dataset,
  options: InsideOptions = {},
): Promise<string[]> {
  const { units = 16, top = 8, searched = 5000, mapSamples = 2000, dreamSteps = 200 } = options;
  const seed = options.seed ?? manifest.training.seed;
  const inputShape = manifest.inputShape;
  const images = isImageShape(inputShape);
  const written: string[] = [];
  const write = (name: string, data: Buffer | string) => {
    run.writeFile(`figures/${name}`, data);
    written.push(run.path('figures', name));
  };
  const json = (value: unknown) => `${JSON.stringify(value)}\n`;

  options.onFigure?.('features');
  const features = firstLayerFeatures(model, inputShape, units);
  if (features && isImageShape(features.shape)) {
    write('features.png', await tileFigurePng(featuresFigure(features, manifest.variant)));
    write(
      'features.json',
      json({ ...features, images: features.images.map((img) => Array.from(img)) }),
    );
  }

  options.onFigure?.('top-activations');
  const pool = train.slice(0, Math.min(searched, train.count));
  const { codings, d } = await codingsOf(model, pool);
  const shown = liveliestUnits(codings, d, units);
  const range = rangeOf(pool.x);
  const best = topActivations(codings, d, shown, top);
  const bestActivations = best.map((row, r) => row.map((i) => codings[i * d + shown[r]!]!));
  if (images) {
    write(
      'top-activations.png',
      await tileFigurePng(
        topActivationsFigure(
          {
            variant: manifest.variant,
            units: shown,
            images: best.map((row) => row.map((i) => sampleOf(pool, i))),
            activations: bestActivations,
            sampleShape: inputShape,
            range,
          },
          pool.count,
        ),
      ),
    );
  }
  write(
    'top-activations.json',
    json({ units: shown, samples: best, activations: bestActivations }),
  );

  options.onFigure?.('dreams');
  const dreamt = dreams(model, inputShape, shown, { range, steps: dreamSteps, seed });
  if (images) {
    write(
      'dreams.png',
      await tileFigurePng(
        dreamsFigure(
          {
            variant: manifest.variant,
            units: shown,
            images: dreamt.images.map((img) => [img]),
            activations: dreamt.activations.map((a) => [a]),
            sampleShape: inputShape,
            range,
          },
          bestActivations.map((row) => row[0]!),
          dreamSteps,
        ),
      ),
    );
  }
  write(
    'dreams.json',
    json({
      units: shown,
      activations: dreamt.activations,
      // For comparison: the largest activation of each unit over the searched samples.
      bestSampleActivations: bestActivations.map((row) => row[0]),
      images: dreamt.images.map((img) => Array.from(img)),
    }),
  );

  const placed = heldOut.slice(0, Math.min(mapSamples, heldOut.count));
  if (placed.count >= 16) {
    options.onFigure?.('map');
    const mapped = await codingsOf(model, placed);
    const points = codingMap(mapped.codings, mapped.d, seed);
    const thumbs = images
      ? thumbnailPlaces(points, 16).map((index) => ({
          index,
          png: imageGrid([[sampleOf(placed, index)]], {
            sampleShape: inputShape,
            range,
            gap: 0,
            scale: 1,
          }),
        }))
      : [];
    write(
      'map.png',
      await mapPng(
        points,
        placed.labels,
        thumbs,
        `${manifest.variant}: codings of ${placed.count} held-out samples (UMAP)`,
      ),
    );
    write(
      'map.json',
      json({
        points,
        ...(placed.labels ? { labels: Array.from(placed.labels) } : {}),
        thumbnails: thumbs.map((t) => t.index),
      }),
    );
  }
  return written;
}
