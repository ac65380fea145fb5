import type { Command } from 'commander';
import { querySegment } from '../../segments/query.js';
import { SegmentError } from '../../segments/segment.js';
import { fmtInt, printJson, printLine } from '../output.js';

interface SegmentCliOptions {
  project: string;
  count?: boolean;
  export?: string;
  saved?: string;
  save?: string;
  description?: string;
  json?: boolean;
}

export function registerSegment(program: Command): void {
  program
    .command('segment')
    .description('count a segment (a boolean expression over tags and profile attributes), export or save it')
    .argument('[expression]', "e.g. \"golf_lover and spend_90d > 1000 and region in ('Seoul', 'Busan')\"")
    .option('-p, --project <dir>', 'project folder', '.')
    .option('--count', 'print only the count')
    .option('--export <file>', 'write the members to a .csv or .jsonl file')
    .option('--saved <name>', 'use a saved segment (segments/<name>.yaml) instead of an expression')
    .option('--save <name>', 'save the expression as segments/<name>.yaml')
    .option('--description <text>', 'description of the saved segment')
    .option('--json', 'print the result as JSON')
    .action(async (expression: string | undefined, o: SegmentCliOptions) => {
      try {
        const r = await querySegment(o.project, expression, {
          ...(o.saved !== undefined ? { saved: o.saved } : {}),
          ...(o.export !== undefined ? { exportFile: o.export } : {}),
          ...(o.save !== undefined ? { saveAs: o.save } : {}),
          ...(o.description !== undefined ? { description: o.description } : {}),
        });
        if (o.json) return printJson(r);
        if (o.count) return printLine(String(r.count));
        printLine(
          `${fmtInt(r.count)} of ${fmtInt(r.total)} (${(r.share * 100).toFixed(2)}%) in ${r.elapsedMs} ms, build ${r.buildId}`,
        );
        if (r.sample.length > 0) printLine(`sample: ${r.sample.join(', ')}`);
        if (r.exported) printLine(`wrote ${fmtInt(r.exported.rows)} ids to ${r.exported.file}`);
        if (r.saved) printLine(`saved as ${r.saved.file}`);
      } catch (e) {
        if (!(e instanceof SegmentError) || o.json) throw e;
        // Point at the offending text, like `tagverse check` does for tag files.
        const text = expression ?? '';
        for (const p of e.problems) {
          process.stderr.write(`expression:${p.line}:${p.col}: ${p.message}\n`);
          const lineText = text.split('\n')[p.line - 1] ?? '';
          if (text.length < 400) {
            const width = Math.max(1, Math.min(p.end - p.start, lineText.length - p.col + 1));
            process.stderr.write(`  ${lineText}\n  ${' '.repeat(p.col - 1)}${'^'.repeat(width)}\n`);
          }
        }
        process.exitCode = 1;
      }
    });
}
