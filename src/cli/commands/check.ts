import type { Command } from 'commander';
import { checkProject } from '../../config/check.js';
import { requireProject } from '../../config/project.js';
import { compileProject } from '../../engine/compile-project.js';
import { printJson, printLine, printProblems } from '../output.js';

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('validate the project (config, files, columns, tags); every problem as file:line:col')
    .option('-p, --project <dir>', 'project folder', '.')
    .option('--sql', 'also print the SQL a build would run')
    .option('--tags <names>', 'with --sql: only these tags (comma-separated) and what they depend on')
    .option('--json', 'print the result as JSON')
    .action(async (o: { project: string; sql?: boolean; tags?: string; json?: boolean }) => {
      const r = await checkProject(o.project);
      const sql =
        r.ok && o.sql
          ? await compileProject(requireProject(o.project), {
              ...(o.tags ? { tags: o.tags.split(',').map((t) => t.trim()) } : {}),
            })
          : undefined;
      if (o.json) {
        printJson({
          ...r,
          ...(sql
            ? { sql: sql.statements.map((s) => ({ name: s.name, table: s.table, sql: s.select })) }
            : {}),
        });
      } else {
        if (r.problems.length > 0) printProblems(r.problems);
        if (r.ok) {
          const files = Object.entries(r.files).map(([s, n]) => `${s} (${n} file${n === 1 ? '' : 's'})`);
          printLine(`ok: ${files.join(', ')}; ${r.tags} tag(s) in ${r.tagFiles} file(s)`);
        }
        if (sql) {
          for (const s of sql.statements) {
            printLine(`\n-- ${s.name} -> ${s.table}`);
            printLine(`${s.select};`);
          }
        }
      }
      if (!r.ok) {
        if (!o.json)
          process.stderr.write(`${r.problems.filter((p) => p.severity === 'error').length} problem(s)\n`);
        process.exitCode = 1;
      }
    });
}
