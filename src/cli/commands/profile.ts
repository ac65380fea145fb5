import type { Command } from 'commander';
import { formatValue } from '../../engine/explain.js';
import { profile } from '../../engine/profile.js';
import { printJson, printLine } from '../output.js';

export function registerProfile(program: Command): void {
  program
    .command('profile')
    .description("an entity's tag values, grouped by category")
    .argument('<id>', 'entity id')
    .option('-p, --project <dir>', 'project folder', '.')
    .option('--as-of <time>', 'show the values as they were at this time (from tag history)')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, o: { project: string; asOf?: string; json?: boolean }) => {
      const p = await profile(o.project, id, { ...(o.asOf ? { asOf: o.asOf } : {}) });
      if (o.json) return printJson(p);
      printLine(`${p.entityId} as of ${p.asOf} (${p.source === 'current' ? 'latest build' : 'tag history'})`);
      for (const [category, tags] of Object.entries(p.categories)) {
        if (tags.length === 0) continue;
        printLine(`\n${category}`);
        for (const t of tags) printLine(`  ${t.name.padEnd(32)} ${formatValue(t.value)}`);
      }
    });
}
