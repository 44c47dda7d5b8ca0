/** The Train view's first panel: the variant, its options, the budget and the buttons. */
import type { TfjsVariantPlugin } from '@aekit/trainers/browser';
import type { ViewContext } from '../ui.js';
import { el, panel } from '../ui.js';
import { TRAIN_BACKENDS } from './backend.js';
import { type OptionsForm, optionsForm } from './options-form.js';
import { type PageVariant, pageVariants } from './variants.js';

/**
 * The default budget: 10 epochs on every shipped training image, about 5 s for a dense
 * model with the page's fast kernels. A stacked model then reconstructs the test digits with
 * 0.38x the mean image's MSE (0.52x after 5 epochs: blurred digits that a newcomer takes for
 * a fault; 0.31x after 20; measured with `aekit train --limit 2000`, the same loop).
 */
export const DEFAULT_EPOCHS = 10;
export const MAX_EPOCHS = 50;
/** The fewest training samples: a validation split of 10% still holds a few batches. */
export const MIN_SAMPLES = 100;

/** What one training is asked to do. */
export interface TrainChoice {
  readonly plugin: TfjsVariantPlugin;
  /** The options as entered (see {@link OptionsForm.values}). */
  readonly options: Record<string, string | boolean>;
  readonly epochs: number;
  readonly samples: number;
  /** The TensorFlow.js backend asked for (`auto` or a name). */
  readonly backend: string;
}

/** The controls of the setup panel. */
export interface TrainSetup {
  /** What is chosen now (budget fields clamped to their range), or why nothing can train. */
  choice(): TrainChoice | string;
  readonly start: HTMLButtonElement;
  readonly stop: HTMLButtonElement;
  /** The status line. */
  readonly state: HTMLOutputElement;
  /** Locks the choices while a training runs (Stop enabled), and unlocks them. */
  busy(on: boolean): void;
}

/** A number field clamped to [min, max], `fallback` when it does not hold a number. */
function clampedInt(input: HTMLInputElement, min: number, max: number, fallback: number): number {
  const n = Math.round(Number(input.value));
  const value = input.value.trim() !== '' && Number.isFinite(n) ? n : fallback;
  const clamped = Math.max(min, Math.min(max, value));
  input.value = String(clamped);
  return clamped;
}

/** A labelled control. */
function labelled(text: string, control: HTMLElement): HTMLLabelElement {
  const label = el('label', { class: 'field' }, `${text} `);
  label.append(control);
  return label;
}

/**
 * The variant picker (every registered variant; those that cannot train here disabled, with
 * the reason), its description and options form (rebuilt on change).
 */
function variantPicker(variants: readonly PageVariant[]) {
  const select = el('select', { id: 'train-variant' });
  for (const v of variants) {
    const option = el(
      'option',
      { value: v.plugin.name },
      v.problem ? `${v.plugin.name} (cannot train here)` : `${v.plugin.name}: ${v.plugin.title}`,
    );
    option.disabled = v.problem !== undefined;
    select.append(option);
  }
  const trainable = variants.filter((v) => v.problem === undefined);
  // The stacked autoencoder first, when there is one: the simplest deep one.
  select.value =
    (trainable.find((v) => v.plugin.name === 'stacked') ?? trainable[0])?.plugin.name ?? '';
  const about = el('p', { id: 'variant-about' });
  const optionsBox = el('div');
  let form: OptionsForm | undefined;
  const chosen = () => variants.find((v) => v.plugin.name === select.value);
  const show = () => {
    const v = chosen();
    about.textContent = v ? (v.problem ?? v.plugin.description) : 'No variant trains here.';
    form = v && v.problem === undefined ? optionsForm(v.plugin.options) : undefined;
    optionsBox.replaceChildren(...(form ? [form.element] : []));
  };
  select.addEventListener('change', show);
  show();
  return { select, about, optionsBox, chosen, form: () => form };
}

/** Builds the setup panel in `root`. */
export function setupPanel(
  root: HTMLElement,
  ctx: ViewContext,
  notes: { readonly batchSize: number; readonly validationSplit: number },
): TrainSetup {
  const section = panel(root, 'Variant and budget', true);
  const picker = variantPicker(pageVariants());
  const backend = el('select', { id: 'train-backend' });
  for (const b of TRAIN_BACKENDS) backend.append(el('option', { value: b }, b));
  const epochs = el('input', {
    id: 'epochs',
    type: 'number',
    min: '1',
    max: String(MAX_EPOCHS),
    value: String(DEFAULT_EPOCHS),
  });
  const maxSamples = ctx.index.trainImages;
  const samples = el('input', {
    id: 'samples',
    type: 'number',
    min: String(MIN_SAMPLES),
    max: String(maxSamples),
    step: '100',
    value: String(maxSamples),
  });
  const start = el('button', { id: 'train', type: 'button', class: 'primary' }, 'Train');
  const stop = el('button', { id: 'stop', type: 'button' }, 'Stop');
  stop.disabled = true;
  const state = el('output', { id: 'train-status', class: 'readout', 'aria-live': 'polite' });
  const top = el('div', { class: 'controls' });
  top.append(labelled('Variant', picker.select));
  const budget = el('div', { class: 'controls' });
  budget.append(
    labelled('Epochs', epochs),
    labelled('Training images', samples),
    labelled('TensorFlow.js backend', backend),
    start,
    stop,
  );
  section.append(
    top,
    picker.about,
    picker.optionsBox,
    el(
      'p',
      {},
      `On up to ${maxSamples} MNIST training images (${notes.validationSplit * 100}% held out for the validation loss), batches of ${notes.batchSize}, Adam.`,
    ),
    budget,
    state,
  );
  return {
    choice: () => {
      const v = picker.chosen();
      const form = picker.form();
      if (!v || v.problem !== undefined || !form) return v?.problem ?? 'No variant trains here.';
      return {
        plugin: v.plugin,
        options: form.values(),
        epochs: clampedInt(epochs, 1, MAX_EPOCHS, DEFAULT_EPOCHS),
        samples: clampedInt(samples, MIN_SAMPLES, maxSamples, maxSamples),
        backend: backend.value,
      };
    },
    start,
    stop,
    state,
    busy: (on) => {
      start.disabled = on;
      picker.select.disabled = on;
      stop.disabled = !on;
    },
  };
}
