/**
 * Read a program's sources out of a warehouse as plain rows for the reference evaluator, so real
 * projects can be evaluated by it too. Reads `main.<source>` (the views tags read): times become
 * epoch microseconds, dates days since 1970-01-01, numbers JS numbers; columns of types the tag
 * language cannot read are left out.
 */
import type { TagProgram } from '../lang/ir.js';
import { valueTypeOfDuck } from '../lang/schemas.js';
import { ident } from '../warehouse/sql.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { ReferenceData, RefRow } from './evaluator.js';

async function readSource(wh: Warehouse, source: string, keyColumn: string): Promise<RefRow[]> {
  const columns = await wh.columns('main', source);
  if (columns.length === 0) throw new Error(`no table or view main.${source} in the warehouse`);
  const select: string[] = [];
  for (const c of columns) {
    const q = ident(c.name);
    const type = valueTypeOfDuck(c.type);
    if (c.name === keyColumn) select.push(q);
    else if (type === 'time') select.push(`epoch_us(${q}) AS ${q}`);
    else if (type === 'date') select.push(`(${q} - DATE '1970-01-01') AS ${q}`);
    else if (type === 'number') select.push(`CAST(${q} AS DOUBLE) AS ${q}`);
    else if (type !== 'other') select.push(q);
  }
  return wh.objects(`SELECT ${select.join(', ')} FROM main.${ident(source)}`);
}

/**
 * Every events and profile source of `program`, read from `wh`.
 * @example
 *   const data = await loadReferenceData(wh, program);
 *   const values = evaluateTags(program, closure(program), data, asOfMicros);
 */
export async function loadReferenceData(wh: Warehouse, program: TagProgram): Promise<ReferenceData> {
  const events: Record<string, RefRow[]> = {};
  const profiles: Record<string, RefRow[]> = {};
  for (const s of program.eventSources) events[s] = await readSource(wh, s, program.entityKeys[s]!);
  for (const s of program.profiles) profiles[s] = await readSource(wh, s, program.entityKeys[s]!);
  return { events, profiles };
}
