import type { Command } from 'commander';
import { explain, formatValue } from '../../engine/explain.js';
import { printJson, printLine } from '../output.js';

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('why an entity has a tag value: the aggregates that decided it and the events behind them')
    .argument('<id>', 'entity id')
    .argument('<tag>', 'tag name')
    .option('-p, --project <dir>', 'project folder', '.')
    .option('--as-of <time>', 'explain the value at this time (default: the time of the latest build)')
    .option('--limit <n>', 'events to list per aggregate', (v) => Number.parseInt(v, 10), 10)
    .option('--json', 'print the result as JSON')
    .action(
      async (
        id: string,
        tag: string,
        o: { project: string; asOf?: string; limit: number; json?: boolean },
      ) => {
        const ev = await explain(o.project, id, tag, { ...(o.asOf ? { asOf: o.asOf } : {}), limit: o.limit });
        if (o.json) return printJson(ev);
        printLine(`${ev.tag.name} = ${formatValue(ev.value)} for ${ev.entityId} as of ${ev.asOf}`);
        printLine(`  ${ev.tag.description}`);
        printLine(`because ${ev.reason}`);
        for (const a of ev.aggregates) {
          const span = a.window.from
            ? `${a.window.from.slice(0, 10)}..${a.window.to.slice(0, 10)}`
            : `up to ${a.window.to.slice(0, 10)}`;
          printLine(`\n  ${a.call} = ${formatValue(a.value)} over ${span}`);
          for (const e of a.events) {
            const extra = [
              e.label !== undefined ? formatValue(e.label) : '',
              e.value !== null && e.value !== undefined ? formatValue(e.value) : '',
            ]
              .filter(Boolean)
              .join(' ');
            printLine(`    ${e.eventId}  ${e.ts}${extra ? `  ${extra}` : ''}`);
          }
        }
        if (ev.inputs.length > 0) {
          printLine('\n  inputs:');
          for (const i of ev.inputs) printLine(`    ${i.kind} ${i.name} = ${formatValue(i.value)}`);
        }
      },
    );
}
