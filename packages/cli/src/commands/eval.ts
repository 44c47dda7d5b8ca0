import { RunDirectory } from '@aekit/core/node';
import { type EvaluationReport, evaluateRun } from '@aekit/trainers';
import type { Command } from 'commander';
import { startBackend } from '../backend-line.js';
import { backendOption } from '../flags.js';
import { fmt, type Output, plural } from '../output.js';

/** Options of `aekit eval`. */
export interface EvalCommandOptions {
  readonly json?: boolean;
  readonly backend?: string;
  readonly dataDir?: string;
  readonly data?: string;
  readonly labels?: string;
  readonly probe?: boolean;
}

/**
 * `aekit eval RUN [--data FILE [--labels FILE]]`: reconstruction loss and MSE on the
 * held-out split or on a file, next to the mean-image baseline.
 */
export async function evalCommand(
  run: string,
  options: EvalCommandOptions,
  output: Output,
): Promise<void> {
  const report = await evaluateRun(run, {
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.data !== undefined ? { data: options.data } : {}),
    ...(options.labels !== undefined ? { labels: options.labels } : {}),
    ...(options.probe ? { probe: true } : {}),
  });
  if (options.json) {
    output.out(JSON.stringify(report, null, 2));
    return;
  }
  const scored =
    report.split === 'file'
      ? `${plural(report.samples, 'sample')} of ${report.data}${report.labels ? ` (labels: ${report.labels})` : ''}`
      : plural(report.samples, `${report.split} sample`);
  output.out(`${report.variant} run ${report.run}: ${scored}`);
  // A classifier run is judged by its predictions: its reconstruction (the pretrained
  // decoder against a fine-tuned encoder, or none at all) says nothing about it.
  const classifier = new RunDirectory(run).readManifest().classifier;
  if (classifier) {
    printClassifier(report, classifier.classes.length, output);
  } else {
    printReconstruction(report, output);
  }
  const p = report.probe;
  if (p) {
    output.out(
      `  linear probe (logistic regression on the ${p.features} coding values, fitted to ${p.trainSamples} training samples):`,
    );
    output.out(
      `    ${report.split} accuracy        ${fmt(p.accuracy, 4).padEnd(8)} train ${fmt(p.trainAccuracy, 4)}, chance ${fmt(p.chance, 3)}`,
    );
  }
  const r = report.retrieval;
  if (r) {
    const purity = (p: { mean: number | null; sets: number; meanSize: number | null }) =>
      p.mean === null
        ? 'no set of 2 or more'
        : `${fmt(p.mean, 3)} over ${p.sets} sets of ${fmt(p.meanSize!, 3)} items on average`;
    output.out(`  retrieval by Hamming distance (codes rounded to bits; random: codes shuffled):`);
    output.out(
      `    precision@${r.k}         ${fmt(r.precisionAtK, 3).padEnd(8)} random ${fmt(r.random.precisionAtK, 3)}`,
    );
    output.out(`    radius-1 purity      ${purity(r.radius1Purity)}`);
    output.out(`                  random ${purity(r.random.radius1Purity)}`);
  }
}

/** The reconstruction lines: the variant's loss and MSE next to the mean image's, and their ratio. */
function printReconstruction(report: EvaluationReport, output: Output): void {
  // The first column is the variant's own loss (bce or mse), the second always MSE.
  const lossHeader = `loss (${report.lossName})`;
  const width = Math.max(12, lossHeader.length + 2);
  output.out(`                     ${lossHeader.padEnd(width)} MSE`);
  output.out(`  model              ${fmt(report.loss).padEnd(width)} ${fmt(report.mse)}`);
  output.out(
    `  mean-image         ${fmt(report.baseline.loss).padEnd(width)} ${fmt(report.baseline.mse)}`,
  );
  output.out(
    `  model / baseline MSE: ${fmt(report.mseRatio, 3)} (below 1: better than the mean image)`,
  );
  const measures = Object.entries(report.measures ?? {});
  if (measures.length > 0) {
    output.out(`  ${report.variant} measures (means over the ${report.split} samples):`);
    for (const [name, value] of measures) output.out(`    ${name.padEnd(20)} ${fmt(value)}`);
  }
}

/** A classifier run's lines: its accuracy over its classes, or why there is none. */
function printClassifier(report: EvaluationReport, classes: number, output: Output): void {
  if (report.classification) {
    output.out(
      `  classifier: ${report.split} accuracy ${fmt(report.classification.accuracy)} over ${classes} classes (chance about ${fmt(1 / classes, 3)})`,
    );
  } else {
    output.out(
      `  classifier: no labels to score it on; pass them with --labels FILE (one per sample of --data).`,
    );
  }
}

/** Registers `aekit eval`. */
export function registerEval(program: Command, output: Output): void {
  program
    .command('eval')
    .description(
      'Evaluate a run on held-out data (the test split, else the validation split) or on a file: reconstruction loss and MSE, next to the mean-image baseline.',
    )
    .argument('<run>', 'run directory written by `aekit train`')
    .option(
      '--data <file>',
      "score this file instead of the held-out split: an .npy, .csv or IDX file (optionally .gz) of samples of the run's input shape (or flat rows of as many values), raw as the training data was; the run's normalisation and --binarize are applied as in training",
    )
    .option(
      '--labels <file>',
      'labels of --data, one integer per sample in the same order (a one-column .csv, or .npy / IDX of shape [N]): for the retrieval, probe and classifier measures',
    )
    .option('--json', 'print the report as JSON')
    .option(
      '--probe',
      'also fit a logistic regression to the codings of the training split and report its held-out accuracy (labelled data)',
    )
    .addOption(backendOption())
    .option('--data-dir <dir>', "folder with the data set's files, if they moved since training")
    .addHelpText(
      'after',
      '\nExamples:\n  aekit eval runs/mnist-stacked\n  aekit eval runs/mnist-stacked --data x_test.npy --labels y_test.csv --json',
    )
    .action(
      async (
        run: string,
        opts: {
          json?: boolean;
          backend?: string;
          dataDir?: string;
          data?: string;
          labels?: string;
          probe?: boolean;
        },
      ) => {
        await evalCommand(
          run,
          { ...opts, backend: await startBackend(opts.backend, output) },
          output,
        );
      },
    );
}
