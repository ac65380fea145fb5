import type { Command } from 'commander';
import { listModels } from '../../models/evaluate.js';
import { fmtInt, printJson, printLine } from '../output.js';

export function registerModels(program: Command): void {
  program
    .command('models')
    .description('the models of the project: algorithm, training state, version, validation metrics')
    .option('-p, --project <dir>', 'project folder', '.')
    .option('--json', 'print the result as JSON')
    .action((o: { project: string; json?: boolean }) => {
      const { models, problems } = listModels(o.project);
      if (o.json) return printJson({ models, problems });
      for (const m of models) {
        const metric =
          m.auc !== undefined
            ? `AUC ${m.auc.toFixed(3)} PR-AUC ${(m.prAuc ?? Number.NaN).toFixed(3)}`
            : m.rmse !== undefined
              ? `RMSE ${m.rmse.toFixed(3)}`
              : '';
        const trained =
          m.version !== undefined
            ? `v${m.version} ${m.trainedAt?.slice(0, 16)} ${fmtInt(m.rows ?? 0)} rows`
            : '';
        printLine(
          `${m.name.padEnd(28)} ${m.algorithm.padEnd(8)} ${m.state.padEnd(9)} ${trained.padEnd(36)} ${metric}`,
        );
      }
      for (const p of problems) process.stderr.write(`${p}\n`);
      printLine(`${models.length} model(s)`);
    });
}
