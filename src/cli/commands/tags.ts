import type { Command } from 'commander';
import { diffTags, listTags } from '../../engine/catalog.js';
import { printJson, printLine } from '../output.js';

export function registerTags(program: Command): void {
  program
    .command('tags')
    .description('the tag catalog: owner, status, version, dependencies and coverage of the last build')
    .option('-p, --project <dir>', 'project folder', '.')
    .option('--category <category>', 'only this category')
    .option('--status <status>', 'only this status (draft, approved, deprecated)')
    .option('--json', 'print the result as JSON')
    .action(async (o: { project: string; category?: string; status?: string; json?: boolean }) => {
      const tags = await listTags(o.project, {
        ...(o.category ? { category: o.category } : {}),
        ...(o.status ? { status: o.status } : {}),
      });
      if (o.json) return printJson(tags);
      for (const t of tags) {
        const cov = t.coverage
          ? t.coverage.trueShare !== undefined
            ? `true ${(t.coverage.trueShare * 100).toFixed(1)}%`
            : `non-null ${(t.coverage.nonNull * 100).toFixed(1)}%`
          : 'not built';
        const version = t.version === null ? 'v-' : `v${t.version}${t.changed ? '*' : ''}`;
        printLine(
          `${t.name.padEnd(34)} ${t.category.padEnd(11)} ${t.kind.padEnd(10)} ${t.type.padEnd(9)} ${t.status.padEnd(10)} ${version.padEnd(5)} ${t.owner.padEnd(14)} ${cov}`,
        );
        for (const w of t.warnings) printLine(`    warning: ${w}`);
      }
      printLine(`${tags.length} tag(s); * = definition changed since it was last built (see tagverse diff)`);
    });

  program
    .command('diff')
    .description('before building a change: how many entities would enter or leave each new or changed tag')
    .option('-p, --project <dir>', 'project folder', '.')
    .option('--tags <names>', 'preview these tags instead of the changed ones (comma-separated)')
    .option('--json', 'print the result as JSON')
    .action(async (o: { project: string; tags?: string; json?: boolean }) => {
      const r = await diffTags(o.project, {
        ...(o.tags ? { tags: o.tags.split(',').map((t) => t.trim()) } : {}),
      });
      if (o.json) return printJson(r);
      if (r.impacts.length === 0) {
        printLine('no new or changed tags since the last build');
        return;
      }
      printLine(`impact as of ${r.asOf} (the last build):`);
      for (const i of r.impacts) {
        const moves = i.entering !== undefined ? `+${i.entering} entering, -${i.leaving} leaving, ` : '';
        printLine(
          `  ${i.tag.padEnd(34)} ${i.reason.padEnd(9)} ${moves}${i.changedValues} of ${i.entities} values change`,
        );
      }
    });
}
