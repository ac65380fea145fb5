import type { Command } from 'commander';
import { type BuildResult, build } from '../../engine/build.js';
import { fmtInt, fmtSeconds, printJson, printLine } from '../output.js';
import { createProgress } from '../progress.js';

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('compute every tag for every entity as of a time; store current values and history')
    .option('-p, --project <dir>', 'project folder', '.')
    .option('--as-of <time>', "'latest_event' (default), 'now', a date (end of that day) or an ISO date-time")
    .option('--tags <names>', 'only these tags (comma-separated) and what they depend on')
    .option('--no-history', 'do not record tag history for this build')
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'no progress output')
    .action(
      async (o: {
        project: string;
        asOf?: string;
        tags?: string;
        history: boolean;
        json?: boolean;
        quiet?: boolean;
      }) => {
        const progress = createProgress({ enabled: !o.json && !o.quiet });
        const result = await build(o.project, {
          ...(o.asOf ? { asOf: o.asOf } : {}),
          ...(o.tags
            ? {
                tags: o.tags
                  .split(',')
                  .map((t) => t.trim())
                  .filter(Boolean),
              }
            : {}),
          skipHistory: !o.history,
          onProgress: (p) => {
            if (p.index < p.total) progress.step(`${p.step} (${p.index + 1}/${p.total})`);
          },
        }).finally(() => progress.done());
        if (o.json) return printJson(result);
        printBuildSummary(result);
      },
    );
}

export function printBuildSummary(r: BuildResult): void {
  printLine(
    `built ${r.tags.length} tag(s) for ${fmtInt(r.entities)} entities as of ${r.asOf} in ${fmtSeconds(r.durationMs)} (build ${r.buildId})`,
  );
  const pct = (x: number | undefined) => (x === undefined ? '' : `${(x * 100).toFixed(1)}%`);
  const rows = r.tags.map((t) => {
    const detail =
      t.trueShare !== undefined
        ? `${t.type === 'list' ? 'non-empty' : 'true'} ${pct(t.trueShare)}`
        : t.mean !== undefined
          ? `mean ${Math.round(t.mean * 100) / 100}`
          : t.distinct !== undefined
            ? `${t.distinct} values, most often ${t.top ?? 'null'}`
            : '';
    return `  ${t.name.padEnd(32)} ${t.category.padEnd(11)} ${t.type.padEnd(9)} non-null ${pct(t.nonNull).padStart(6)}  ${detail}`;
  });
  for (const line of rows) printLine(line);
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
}
