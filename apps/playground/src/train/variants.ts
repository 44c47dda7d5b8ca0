/** The variants the page can train: the registry's, each with why not when it cannot. */
import { listVariants, type VariantPlugin } from '@aekit/core';
import {
  asTfjsPlugin,
  registerBuiltinVariants,
  type TfjsVariantPlugin,
} from '@aekit/trainers/browser';

/** A registered variant, as the page's picker lists it. */
export type PageVariant =
  | { readonly plugin: TfjsVariantPlugin; readonly problem?: undefined }
  | {
      readonly plugin: VariantPlugin;
      /** Why it cannot train here, shown beside its name. */
      readonly problem: string;
    };

/**
 * Every registered variant (the built-in ones registered first), sorted by name: those with
 * a TensorFlow.js trainer train in the page; the others are listed with the reason.
 */
export function pageVariants(): PageVariant[] {
  registerBuiltinVariants();
  return listVariants().map((plugin) => {
    try {
      return { plugin: asTfjsPlugin(plugin) };
    } catch (err) {
      return { plugin, problem: err instanceof Error ? err.message : String(err) };
    }
  });
}
