import { createRequire } from 'node:module';
import { releaseBackend } from '@aekit/trainers';
import { Command } from 'commander';
import { loadBench, registerBench } from './commands/bench.js';
import { registerClassify } from './commands/classify.js';
import { registerEval } from './commands/eval.js';
import { registerExport } from './commands/export.js';
import { registerFigures } from './commands/figures.js';
import { registerGenerate } from './commands/generate.js';
import { registerHash } from './commands/hash.js';
import { registerInference } from './commands/infer.js';
import { registerReport } from './commands/report.js';
import { registerServe } from './commands/serve.js';
import { registerTrain } from './commands/train.js';
import { registerVariants } from './commands/variants.js';
import { type Output, processOutput, reportError } from './output.js';
import { loadPlugins, pluginArgs, runPlugins } from './plugins.js';

const { version: VERSION } = createRequire(import.meta.url)('../package.json') as {
  version: string;
};

/**
 * Builds the `aekit` command tree. Commands write through `output`. `aekit bench` is
 * `@aekit/bench`'s where `main` (or `loadBench`) loaded it first.
 */
export function createProgram(output: Output = processOutput): Command {
  const program = new Command('aekit')
    .description(
      'Train, evaluate and inspect autoencoders: every classic variant, from PCA to VAEs.',
    )
    .version(VERSION)
    // `aekit --version` before a command; after one, `--version` is the command's own
    // (`aekit export RUN --repository DIR --version 2`).
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (s) => output.out(s.trimEnd()),
      writeErr: (s) => output.err(s.trimEnd()),
    })
    .exitOverride();

  registerTrain(program, output);
  registerEval(program, output);
  registerExport(program, output);
  registerInference(program, output);
  registerGenerate(program, output);
  registerFigures(program, output);
  registerReport(program, output);
  registerClassify(program, output);
  registerHash(program, output);
  registerServe(program, output);
  registerBench(program, output);
  registerVariants(program, output);
  return program;
}

/** Runs the CLI on `argv` (without the node and script entries); resolves to the exit code. */
export async function main(
  argv: readonly string[],
  output: Output = processOutput,
): Promise<number> {
  try {
    // Plugins first: their variants' options become flags of `aekit train`.
    await loadPlugins([...pluginArgs(argv), ...runPlugins(argv)]);
    await loadBench();
    const program = createProgram(output);
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    const code = (error as { code?: string; exitCode?: number }).code;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      return (error as { exitCode: number }).exitCode;
    }
    return reportError(error, output);
  } finally {
    releaseBackend();
  }
}
