import type { Command } from 'commander';
import { evaluateModel } from '../../models/evaluate.js';
import type { Metrics } from '../../models/metrics.js';
import type { ModelCard } from '../../models/model-file.js';
import { fmtInt, printJson, printLine } from '../output.js';
import { createProgress } from '../progress.js';

const r3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function printMetrics(m: Metrics, indent = '  '): void {
  if (m.kind === 'binary') {
    printLine(
      `${indent}rows ${fmtInt(m.rows)}, positives ${fmtInt(m.positives)} (${pct(m.baseRate)})  AUC ${r3(m.auc)}  PR-AUC ${r3(m.prAuc)}  log loss ${r3(m.logLoss)}  Brier ${r3(m.brier)}`,
    );
    printLine(
      `${indent}best F1 ${r3(m.bestF1.f1)} at score >= ${r3(m.bestF1.threshold)} (precision ${r3(m.bestF1.precision)}, recall ${r3(m.bestF1.recall)})`,
    );
    printLine(`${indent}calibration (predicted -> observed, by tenth of predictions):`);
    printLine(
      `${indent}  ${m.calibration.map((c) => `${r3(c.meanPredicted)}->${r3(c.observedRate)}`).join('  ')}`,
    );
  } else {
    printLine(
      `${indent}rows ${fmtInt(m.rows)}, mean ${r3(m.mean)}  RMSE ${r3(m.rmse)}  MAE ${r3(m.mae)}  R² ${r3(m.r2)}`,
    );
  }
  printLine(`${indent}decile  rate     lift   cumulative gain`);
  for (const g of m.gains) {
    printLine(
      `${indent}${String(g.decile).padStart(6)}  ${(m.kind === 'binary' ? pct(g.rate) : r3(g.rate)).padEnd(7)}  ${g.lift.toFixed(2).padStart(5)}  ${pct(g.cumulativeGain).padStart(6)}`,
    );
  }
}

export function printCard(c: ModelCard): void {
  printLine(
    `${c.name} v${c.version}: ${c.algorithm} (${c.objective}), ${c.mode === 'static' ? 'static snapshot' : 'point in time'}`,
  );
  printLine(
    `  label: ${c.label.text}${c.label.where ? ` where ${c.label.where}` : ''}${c.label.horizon ? ` over ${c.label.horizon} after each cutoff` : ''}`,
  );
  if (c.filter) printLine(`  filter: ${c.filter}`);
  for (const b of c.rows.byCutoff) {
    printLine(`  cutoff ${b.cutoff.slice(0, 10)}: ${fmtInt(b.rows)} rows, label mean ${r3(b.labelMean)}`);
  }
  const v = c.validation;
  printLine(
    `  validation: ${v.method === 'last_cutoff' ? `trained on earlier cutoffs, measured on ${v.cutoff?.slice(0, 10)}` : `${pct(v.holdout ?? 0)} of entities held out`} (${fmtInt(c.rows.train)} train / ${fmtInt(c.rows.validation)} validation rows)`,
  );
  printMetrics(c.metrics);
  if (c.comparison) {
    printLine('  next to the baselines (validation rows; F1 at the threshold chosen on training rows):');
    for (const b of c.comparison)
      printLine(
        `    ${b.name.padEnd(34)} AUC ${r3(b.auc)}  PR-AUC ${r3(b.prAuc)}  F1 ${r3(b.f1)} (precision ${r3(b.precision)}, recall ${r3(b.recall)})`,
      );
  }
  printLine(`  top features (${c.algorithm === 'gbdt' ? 'gain' : 'mean |coefficient x value|'}):`);
  for (const f of c.topFeatures.slice(0, 10))
    printLine(`    ${f.name.padEnd(34)} ${pct(f.share).padStart(6)}`);
  const t = c.training;
  printLine(
    `  training: ${t.seconds.toFixed(2)} s${t.bestRounds !== undefined ? `, ${t.bestRounds} trees (of ${t.rounds} tried)` : ''}${t.refit ? `, refit on all ${fmtInt(t.refitRows)} rows` : ''}`,
  );
  for (const w of c.warnings) printLine(`  warning: ${w}`);
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description(
      "a trained model's card (validation metrics, gains, calibration); --cutoff backtests it at other dates",
    )
    .argument('<model>', 'model name')
    .option('-p, --project <dir>', 'project folder', '.')
    .option('--cutoff <dates>', 'backtest at these cutoffs (comma-separated dates)')
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'no progress output')
    .action(
      async (name: string, o: { project: string; cutoff?: string; json?: boolean; quiet?: boolean }) => {
        const progress = createProgress({ enabled: !o.json && !o.quiet && o.cutoff !== undefined });
        const cutoffs = o.cutoff
          ?.split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        const r = await evaluateModel(o.project, name, {
          ...(cutoffs ? { cutoffs } : {}),
          onProgress: (s) => progress.step(s),
        }).finally(() => progress.done());
        if (o.json) return printJson(r);
        printCard(r.card);
        if (r.stale)
          printLine(
            `  note: models/${name}.yaml changed since this version was trained (retrain to apply it)`,
          );
        if (r.backtest) {
          printLine(`\nbacktest at ${r.backtest.cutoffs.map((c) => c.slice(0, 10)).join(', ')}:`);
          printMetrics(r.backtest.metrics);
        }
      },
    );
}
