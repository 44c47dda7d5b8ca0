import { contractiveConstraint } from './contractive/constraint.js';
import { denoisingConstraint } from './denoising/constraint.js';
import { greedyConstraint } from './greedy/constraint.js';
import { sparseConstraint } from './sparse/constraint.js';
import { tiedConstraint } from './tied/constraint.js';

/** Every constraint a dense autoencoder can switch on (`--with`), in the order they apply. */
export const DENSE_CONSTRAINTS = Object.freeze([
  tiedConstraint,
  greedyConstraint,
  denoisingConstraint,
  sparseConstraint,
  contractiveConstraint,
]);
