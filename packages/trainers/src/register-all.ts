import { registerVariant } from '@aekit/core';
import { adversarialVariant } from './variants/adversarial/index.js';
import { contractiveVariant } from './variants/contractive/index.js';
import { convVariant } from './variants/conv/index.js';
import { denoisingVariant } from './variants/denoising/index.js';
import { greedyVariant } from './variants/greedy/index.js';
import { gsnVariant } from './variants/gsn/index.js';
import { hashingVariant } from './variants/hashing/index.js';
import { linearVariant } from './variants/linear/index.js';
import { sparseVariant } from './variants/sparse/index.js';
import { stackedVariant } from './variants/stacked/index.js';
import { tiedVariant } from './variants/tied/index.js';
import { vaeVariant } from './variants/vae/index.js';
import { wtaVariant } from './variants/wta/index.js';

/** Every variant shipped with @aekit/trainers. */
export const builtinVariants = Object.freeze([
  linearVariant,
  stackedVariant,
  tiedVariant,
  greedyVariant,
  denoisingVariant,
  sparseVariant,
  contractiveVariant,
  convVariant,
  vaeVariant,
  wtaVariant,
  gsnVariant,
  adversarialVariant,
  hashingVariant,
]);

/** Registers every built-in variant in core's registry (idempotent). */
export function registerBuiltinVariants(): void {
  for (const plugin of builtinVariants) registerVariant(plugin);
}
