import type { Command } from 'commander';
import { initProject, templateNames } from '../../project/init.js';
import { printJson, printLine } from '../output.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create a project folder from a template')
    .argument('[dir]', 'folder to create', '.')
    .option('-t, --template <name>', `template: ${templateNames().join(', ')}`, 'blank')
    .option('--datasets <dir>', 'folder with the public datasets (for grocery, telco, bank)')
    .option('--force', 'overwrite an existing tagverse.yaml')
    .option('--json', 'print the result as JSON')
    .action((dir: string, o: { template: string; datasets?: string; force?: boolean; json?: boolean }) => {
      const r = initProject(dir, {
        template: o.template,
        ...(o.datasets ? { datasets: o.datasets } : {}),
        ...(o.force ? { force: true } : {}),
      });
      if (o.json) return printJson(r);
      printLine(`created ${r.dir} from template '${r.template}' (${r.files.join(', ')})`);
      printLine('next:');
      for (const s of r.nextSteps) printLine(`  ${s}`);
    });
}
