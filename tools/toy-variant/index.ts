/**
 * `toy-sampler`: a variant plugin that nothing in aekit knows by name, kept beside its test
 * (`tools/toy-variant.test.ts`) to show that a plugin's own declarations are all the
 * runtime needs. It is a small dense autoencoder made with the trainers' public helper;
 * it declares the `sample` capability and a prior sampler (codings drawn from N(0, I) and
 * decoded), which `aekit export` records in `aekit.json`.
 *
 * @packageDocumentation
 */
import { defineDenseVariant } from '@aekit/trainers';

/** The toy variant's name in the registry. */
export const TOY_VARIANT = 'toy-sampler';

/** The plugin: register it with `registerVariant` from `@aekit/core`. */
export const toySamplerVariant = defineDenseVariant({
  name: TOY_VARIANT,
  title: 'Toy sampler (a plugin the runtime has never heard of)',
  description:
    'A small dense autoencoder that declares the sample capability with a prior sampler: codings drawn from N(0, I) and decoded.',
  constraints: [],
  capabilities: ['sample'],
  sampler: () => ({ kind: 'prior' }),
});
