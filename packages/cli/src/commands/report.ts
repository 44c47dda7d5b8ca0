import { relative } from 'node:path';
import { writeReport } from '@aekit/trainers';
import type { Command } from 'commander';
import { startBackend } from '../backend-line.js';
import { backendOption } from '../flags.js';
import { type Output, plural } from '../output.js';

/** Flags of `aekit report`. */
export interface ReportFlags {
  readonly out: string;
  readonly overwrite?: boolean;
  readonly eval?: boolean;
  readonly backend?: string;
  readonly dataDir?: string;
  readonly title?: string;
}

/** `aekit report RUN... --out FILE`: one self-contained HTML page about the runs. */
export async function reportCommand(
  runs: readonly string[],
  flags: ReportFlags,
  output: Output,
): Promise<void> {
  // The backend starts only when the runs are evaluated: a report alone computes nothing.
  const backend = flags.eval ? await startBackend(flags.backend, output) : undefined;
  const written = await writeReport(runs, {
    out: flags.out,
    ...(flags.overwrite ? { overwrite: true } : {}),
    ...(flags.title !== undefined ? { title: flags.title } : {}),
    ...(flags.eval
      ? {
          evaluate: {
            ...(backend ? { backend } : {}),
            ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
          },
          onEvaluate: (run: string) => output.err(`report: evaluating ${run}…`),
        }
      : {}),
  });
  const rel = relative(process.cwd(), written.out);
  const where = rel && !rel.startsWith('..') ? rel : written.out;
  output.out(
    `Report of ${plural(written.runs.length, 'run')} written to ${where} (${(written.bytes / 1024).toFixed(0)} KiB): ${plural(written.terms.length, 'chart')} (${written.terms.join(', ')}).`,
  );
  output.out('It needs no server and loads nothing: open it in a browser from the disk.');
}

/** Registers `aekit report`. */
export function registerReport(program: Command, output: Output): void {
  program
    .command('report')
    .description(
      "Write one self-contained HTML page about one or more runs: a chart per logged loss term with the runs overlaid (tooltips, a legend that picks runs), the evaluation, the figures, the manifests' settings side by side and what differs between the runs. It opens from the disk and loads nothing.",
    )
    .argument('<runs...>', 'run directories written by `aekit train`')
    .requiredOption('--out <file>', 'the HTML file to write')
    .option('--overwrite', 'replace the file at --out if it exists')
    .option('--eval', 'also evaluate each run on its held-out split (as `aekit eval RUN`)')
    .option('--title <text>', "the page's title (default: the runs' names)")
    .addOption(backendOption())
    .option('--data-dir <dir>', "with --eval: folder with the data set's files, if they moved")
    .addHelpText(
      'after',
      '\nExamples:\n  aekit report runs/stacked --out stacked.html\n  aekit report runs/a runs/b runs/c --eval --out compare.html',
    )
    .action(async (runs: string[], flags: ReportFlags) => {
      await reportCommand(runs, flags, output);
    });
}
