import type { TestImages } from './data.js';
import type { ModelEntry, ModelIndex, ModelProgress, ModelStore } from './models.js';

/** What a view gets. */
export interface ViewContext {
  readonly index: ModelIndex;
  readonly data: TestImages;
  readonly store: ModelStore;
  /** Shows a line in the status bar (read out by screen readers). */
  status(text: string): void;
  /** Whether the view is still on screen (async work checks before drawing). */
  alive(): boolean;
}

/** A view draws itself into `root`; it may return a clean-up function. */
export type View = (root: HTMLElement, ctx: ViewContext) => undefined | (() => void);

/**
 * The view's introduction, appended to `root`: a heading and a few sentences on what the
 * autoencoder does in this view and what to try. Returns its toolbar, where a view puts the
 * controls that apply to the whole view (the model, for instance).
 */
export function intro(root: HTMLElement, heading: string, text: string): HTMLElement {
  const section = el('section', { class: 'intro', 'aria-labelledby': 'view-heading' });
  const toolbar = el('div', { class: 'toolbar' });
  section.append(el('h2', { id: 'view-heading' }, heading), el('p', {}, text), toolbar);
  root.append(section);
  return toolbar;
}

/** A titled card appended to `root` (`wide` ones take a whole row on a wide screen). */
export function panel(root: HTMLElement, title: string, wide = false): HTMLElement {
  const section = document.createElement('section');
  section.className = wide ? 'panel wide' : 'panel';
  const h = document.createElement('h3');
  h.textContent = title;
  section.append(h);
  root.append(section);
  return section;
}

/** A figure: `content` above a small caption. */
export function figure(content: HTMLElement, caption: string | HTMLElement): HTMLElement {
  const f = el('figure', { class: 'figure' });
  const c = el('figcaption');
  c.append(caption);
  f.append(content, c);
  return f;
}

/** An element with text and attributes. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A labelled `<select>` of the models that pass `filter`; calls `onChange` with the choice. */
export function modelSelect(
  ctx: ViewContext,
  filter: (m: ModelEntry) => boolean,
  onChange: (m: ModelEntry) => void,
): HTMLLabelElement {
  const models = ctx.index.models.filter(filter);
  const label = el('label', { class: 'field' }, 'Model ');
  const select = el('select', { id: 'model' });
  for (const m of models) select.append(el('option', { value: m.name }, m.title));
  // How well the model reconstructs, as measured when it was built (scripts/prepare.mjs).
  const score = el('span', { id: 'model-score', class: 'hint' });
  const showScore = () => {
    const ratio = models.find((m) => m.name === select.value)?.mseRatio;
    score.textContent =
      ratio === undefined ? '' : ` test MSE ${ratio.toFixed(2)}x the mean image's`;
  };
  select.addEventListener('change', () => {
    showScore();
    onChange(models.find((m) => m.name === select.value)!);
  });
  showScore();
  label.append(select, score);
  return label;
}

/** The event a drawing pad's element fires when a stroke starts (see `DrawingPad`). */
export const DRAW_EVENT = 'aekit-draw';

/**
 * Buttons to pick a test image: a number field (keyboard friendly) and "Random"; calls
 * `onPick` with the image's number.
 */
export function testImagePicker(
  ctx: ViewContext,
  onPick: (i: number) => void,
  first = 0,
  pad?: HTMLElement,
): HTMLElement {
  const box = el('div', { class: 'controls' });
  const label = el('label', { class: 'field' }, 'Test image ');
  const input = el('input', {
    id: 'test-index',
    type: 'number',
    min: '0',
    max: String(ctx.data.count - 1),
    value: String(first),
  });
  label.append(input);
  const random = el('button', { id: 'random-image', type: 'button' }, 'Random test image');
  const caption = el('output', { id: 'test-label', class: 'badge', 'aria-live': 'polite' });
  const pick = (i: number) => {
    input.value = String(i);
    caption.textContent = `label ${ctx.data.labels[i]}`;
    onPick(i);
  };
  input.addEventListener('change', () => {
    const i = Math.min(ctx.data.count - 1, Math.max(0, Math.round(Number(input.value) || 0)));
    pick(i);
  });
  random.addEventListener('click', () => pick(Math.floor(Math.random() * ctx.data.count)));
  // A drawing replaces the test image on the pad: its label no longer applies.
  pad?.addEventListener(DRAW_EVENT, () => {
    input.value = '';
    caption.textContent = 'your drawing';
  });
  box.append(label, random, caption);
  queueMicrotask(() => pick(first));
  return box;
}

/**
 * Runs `task` with the latest arguments only: while one run is in flight, newer requests
 * replace each other and the last runs next (so drawing never queues up stale work).
 */
export function latest<A extends unknown[]>(
  task: (...args: A) => Promise<void>,
): (...args: A) => void {
  let running = false;
  let next: A | undefined;
  const go = async (args: A): Promise<void> => {
    running = true;
    try {
      await task(...args);
    } finally {
      running = false;
      if (next) {
        const n = next;
        next = undefined;
        void go(n);
      }
    }
  };
  return (...args: A) => {
    if (running) next = args;
    else void go(args);
  };
}

/**
 * A box of download progress bars, one per model while it loads (`#progress-NAME`),
 * each removed once its model has loaded.
 */
export function progressBars(store: ModelStore): HTMLElement {
  const box = el('div', { id: 'model-progress', class: 'model-progress', 'aria-live': 'polite' });
  const bars = new Map<string, HTMLProgressElement>();
  store.onProgress((p: ModelProgress) => {
    let bar = bars.get(p.name);
    if (p.done) {
      bar?.parentElement?.remove();
      bars.delete(p.name);
      return;
    }
    if (!bar) {
      const label = el('label', {}, `${p.name} `);
      bar = el('progress', { id: `progress-${p.name}`, max: '1', value: '0' });
      label.append(bar);
      box.append(label);
      bars.set(p.name, bar);
    }
    const { loaded, total } = p.progress;
    if (total) {
      bar.max = total;
      bar.value = loaded;
      bar.textContent = `${Math.round((100 * loaded) / total)}%`;
    } else {
      bar.removeAttribute('value'); // unknown length: an indeterminate bar
    }
  });
  return box;
}
