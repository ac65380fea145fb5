import type { Command } from 'commander';
import { trainModel } from '../../models/train.js';
import { fmtInt, fmtSeconds, printJson, printLine } from '../output.js';
import { createProgress } from '../progress.js';
import { printCard } from './evaluate.js';

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description(
      'train a model (models/<name>.yaml) on point-in-time data, validate it, publish its score tags',
    )
    .argument('<model>', 'model name')
    .option('-p, --project <dir>', 'project folder', '.')
    .option('--no-publish', 'do not build <model>_score and <model>_decile after training')
    .option('--json', 'print the model card as JSON')
    .option('-q, --quiet', 'no progress output')
    .action(
      async (name: string, o: { project: string; publish: boolean; json?: boolean; quiet?: boolean }) => {
        const progress = createProgress({ enabled: !o.json && !o.quiet });
        const started = Date.now();
        const r = await trainModel(o.project, name, {
          publish: o.publish,
          onProgress: (s) => progress.step(s),
        }).finally(() => progress.done());
        if (o.json) return printJson(r);
        printLine(`trained ${name} v${r.card.version} in ${fmtSeconds(Date.now() - started)} -> ${r.file}`);
        printCard(r.card);
        if (r.published) {
          printLine(
            `\npublished ${name}_score and ${name}_decile for ${fmtInt(r.published.entities)} entities as of ${r.published.asOf} (build ${r.published.buildId})`,
          );
        }
      },
    );
}
