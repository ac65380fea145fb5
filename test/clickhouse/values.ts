/** Tag values read back from a DuckDB table as comparable values (times in µs, dates in days). */
import type { ProjectConfig } from '../../src/config/project.js';
import type { RefValue } from '../../src/lang/functions.js';
import type { TagIR, TagProgram } from '../../src/lang/ir.js';
import { ident } from '../../src/warehouse/sql.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';

export async function tableValues(
  wh: Warehouse,
  table: string,
  entity: string,
  tags: readonly TagIR[],
): Promise<Map<string, Record<string, RefValue>>> {
  const cols = tags.map((t) => {
    const q = ident(t.name);
    if (t.value.type === 'time') return `epoch_us(${q}) AS ${q}`;
    if (t.value.type === 'date') return `CAST(${q} - DATE '1970-01-01' AS BIGINT) AS ${q}`;
    return q;
  });
  const rows = await wh.objects(`SELECT ${ident(entity)} AS _e, ${cols.join(', ')} FROM ${table}`);
  const out = new Map<string, Record<string, RefValue>>();
  for (const row of rows) {
    const values: Record<string, RefValue> = {};
    for (const t of tags) values[t.name] = (row[t.name] ?? null) as RefValue;
    out.set(String(row._e), values);
  }
  return out;
}

/** tags.current of a project's warehouse. */
export async function currentValues(
  config: ProjectConfig,
  program: TagProgram,
): Promise<Map<string, Record<string, RefValue>>> {
  const wh = await Warehouse.open(config.engine.path, { readOnly: true });
  try {
    return await tableValues(wh, 'tags.current', 'entity_id', program.tags);
  } finally {
    wh.close();
  }
}
