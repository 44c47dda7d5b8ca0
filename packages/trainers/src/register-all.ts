import { registerVariant } from '@aekit/core';
import { linearVariant } from './variants/linear/index.js';
import { stackedVariant } from './variants/stacked/index.js';

/** Every variant shipped with @aekit/trainers. */
export const builtinVariants = Object.freeze([linearVariant, stackedVariant]);

/** Registers every built-in variant in core's registry (idempotent). */
export function registerBuiltinVariants(): void {
  for (const plugin of builtinVariants) registerVariant(plugin);
}
