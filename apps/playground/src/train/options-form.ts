/** A form for a variant's options, made from its schema: every option with its default. */
import { describeOptions, type OptionInfo, type VariantOptionsSchema } from '@aekit/core';
import { el } from '../ui.js';

/** A variant's options form and what was entered in it. */
export interface OptionsForm {
  readonly element: HTMLElement;
  /**
   * The entered values by option name, as `parseVariantOptions` takes them (lists
   * comma-separated); an emptied field is left out, so its default applies.
   */
  values(): Record<string, string | boolean>;
}

/** How a default reads in a text field: lists comma-separated. */
const shown = (value: unknown): string =>
  Array.isArray(value) ? value.join(',') : value === undefined ? '' : String(value);

/** One field: a select for choices, a checkbox for booleans, a text field otherwise. */
function field(option: OptionInfo): HTMLInputElement | HTMLSelectElement {
  const id = `option-${option.flag}`;
  if (option.choices && !option.type.endsWith('[]')) {
    const select = el('select', { id, name: option.name });
    for (const c of option.choices) select.append(el('option', { value: String(c) }, String(c)));
    select.value = shown(option.default);
    return select;
  }
  if (option.type === 'boolean') {
    const box = el('input', { id, name: option.name, type: 'checkbox' });
    box.checked = option.default === true;
    return box;
  }
  const numeric = option.type === 'number' || option.type === 'integer';
  const input = el('input', {
    id,
    name: option.name,
    type: 'text',
    inputmode: numeric ? 'decimal' : 'text',
    value: shown(option.default),
    // An option without a default says in its description what applies when it is unset.
    placeholder: option.default === undefined ? 'default' : '',
    size: '10',
  });
  if (option.choices) input.title = `comma-separated, of: ${option.choices.join(', ')}`;
  return input;
}

/** The form of the options of `schema` (a `<details>` listing each with its description). */
export function optionsForm(schema: VariantOptionsSchema): OptionsForm {
  const options = describeOptions(schema);
  const element = el('details', { id: 'variant-options', class: 'options' });
  element.append(
    el(
      'summary',
      {},
      `Options (${options.length}, defaults shown; an emptied field takes its default)`,
    ),
  );
  const grid = el('div', { class: 'option-grid' });
  const fields = options.map((option) => {
    const input = field(option);
    const label = el('label', { for: input.id }, option.flag);
    const about = el('small', {}, option.description);
    grid.append(label, input, about);
    return { option, input };
  });
  element.append(grid);
  return {
    element,
    values: () => {
      const out: Record<string, string | boolean> = {};
      for (const { option, input } of fields) {
        if (input instanceof HTMLInputElement && input.type === 'checkbox') {
          out[option.name] = input.checked;
        } else if (input.value.trim() !== '') out[option.name] = input.value.trim();
      }
      return out;
    },
  };
}
