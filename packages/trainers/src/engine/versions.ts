import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';

/** Versions of the packages that shaped a run, for its manifest. */
export function packageVersions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const versionOf = (spec: string): string | undefined => {
    try {
      return (require(spec) as { version: string }).version;
    } catch {
      return undefined;
    }
  };
  const versions: Record<string, string> = {
    '@aekit/trainers': versionOf('../../package.json') ?? 'unknown',
    '@tensorflow/tfjs-core': tf.version_core,
    node: process.versions.node,
  };
  const core = versionOf('@aekit/core/package.json');
  if (core) versions['@aekit/core'] = core;
  return versions;
}
