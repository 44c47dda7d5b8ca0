import { evaluateRun } from '@aekit/trainers';
import { fmt, type Output } from '../output.js';

/** Options of `aekit eval`. */
export interface EvalCommandOptions {
  readonly json?: boolean;
  readonly backend?: string;
  readonly dataDir?: string;
  readonly probe?: boolean;
}

/** `aekit eval RUN`: held-out reconstruction loss and MSE, next to the mean-image baseline. */
export async function evalCommand(
  run: string,
  options: EvalCommandOptions,
  output: Output,
): Promise<void> {
  const report = await evaluateRun(run, {
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.probe ? { probe: true } : {}),
  });
  if (options.json) {
    output.out(JSON.stringify(report, null, 2));
    return;
  }
  output.out(`${report.variant} run ${report.run}: ${report.samples} ${report.split} samples`);
  output.out(`                     ${report.lossName.padEnd(10)} mse`);
  output.out(`  model              ${fmt(report.loss).padEnd(10)} ${fmt(report.mse)}`);
  output.out(
    `  mean-image         ${fmt(report.baseline.loss).padEnd(10)} ${fmt(report.baseline.mse)}`,
  );
  output.out(`  model / baseline MSE: ${fmt(report.mseRatio, 3)}`);
  const measures = Object.entries(report.measures ?? {});
  if (measures.length > 0) {
    output.out(`  ${report.variant} measures (means over the ${report.split} samples):`);
    for (const [name, value] of measures) output.out(`    ${name.padEnd(20)} ${fmt(value)}`);
  }
  if (report.classification) {
    output.out(`  classifier: ${report.split} accuracy ${fmt(report.classification.accuracy, 4)}`);
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
