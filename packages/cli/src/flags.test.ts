import { describe, expect, it } from 'vitest';
import { optionHelp } from './flags.js';

describe('optionHelp', () => {
  const base = { name: 'layers', flag: 'layers', type: 'integer[]', description: 'layer sizes' };

  it('gives the choices and the default after the description', () => {
    expect(optionHelp({ ...base, default: [100, 30] })).toBe('layer sizes (default: 100,30)');
    expect(optionHelp({ ...base, type: 'string', choices: ['kl', 'l1'], default: 'kl' })).toBe(
      'layer sizes (choices: kl, l1; default: kl)',
    );
  });

  it('never leaves a default blank: an empty list is none, no default is left out', () => {
    expect(optionHelp({ ...base, default: [] })).toBe('layer sizes (default: none)');
    expect(optionHelp(base)).toBe('layer sizes');
  });
});
