import { contractiveConstraint } from './contractive.js';
import { denoisingConstraint } from './denoising.js';
import { greedyConstraint } from './greedy.js';
import { sparseConstraint } from './sparse.js';
import { tiedConstraint } from './tied.js';

/** Every constraint a dense autoencoder can switch on (`--with`), in the order they apply. */
export const DENSE_CONSTRAINTS = Object.freeze([
  tiedConstraint,
  greedyConstraint,
  denoisingConstraint,
  sparseConstraint,
  contractiveConstraint,
]);
