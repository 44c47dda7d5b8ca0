import { aekitError } from '@aekit/core';
import type { Command } from 'commander';
import type { Output } from '../output.js';

/** What `aekit bench` needs of `@aekit/bench`. */
interface BenchModule {
  registerBench(program: Command, output: Output): void;
}

/** The package of `aekit bench`. */
const BENCH_PACKAGE = '@aekit/bench';

/** `@aekit/bench` once {@link loadBench} found it, else why it cannot be loaded. */
let bench: BenchModule | string = `${BENCH_PACKAGE} has not been looked for`;

/**
 * Loads `@aekit/bench` (an optional peer) for `aekit bench`; where it is not installed,
 * remembers why, for the command to say.
 */
export async function loadBench(): Promise<void> {
  if (typeof bench !== 'string') return;
  try {
    bench = (await import(BENCH_PACKAGE)) as BenchModule;
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    const message = (err as Error).message;
    // Installed, but one of its own dependencies is not: that one is named.
    bench = message.includes(`'${BENCH_PACKAGE}'`) ? 'it is not installed.' : `${message}.`;
  }
}

/**
 * Registers `aekit bench`: `@aekit/bench`'s command where {@link loadBench} loaded it, else
 * a command that fails with `PackageMissing`.
 */
export function registerBench(program: Command, output: Output): void {
  if (typeof bench !== 'string') {
    bench.registerBench(program, output);
    return;
  }
  const reason = bench;
  program
    .command('bench')
    .description(
      `Benchmark aekit against a PyTorch reference (needs ${BENCH_PACKAGE}: npm install ${BENCH_PACKAGE}).`,
    )
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .action(() => {
      throw aekitError('PackageMissing', BENCH_PACKAGE, 'aekit bench', reason);
    });
}
