import { defineDenseVariant } from '../../families/dense-autoencoder.js';

/** The stacked autoencoder with a contractive penalty. */
export const contractiveVariant = defineDenseVariant({
  name: 'contractive',
  title: 'Contractive autoencoder',
  description:
    "A stacked autoencoder penalised by the squared Frobenius norm of its encoder's Jacobian (--contractive-weight): codings that change little when the input moves a little.",
  constraints: ['contractive'],
});

export { jacobianNormSquared } from '../../families/constraints/contractive.js';
