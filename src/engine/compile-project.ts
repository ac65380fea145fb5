/**
 * The SQL a build would run, without running it (`tagverse check --sql`).
 */
import { existsSync } from 'node:fs';
import { duckdbDialect } from '../compile/duckdb/dialect.js';
import { type BuildPlan, planBuild } from '../compile/plan.js';
import type { ProjectConfig } from '../config/project.js';
import { qualified } from '../warehouse/sql.js';
import { Warehouse } from '../warehouse/warehouse.js';
import { resolveAsOf } from './as-of.js';
import { selectTags } from './build.js';
import { requireProgram } from './program.js';

/** The build plan of a project (as of its default as-of, or now when nothing is ingested yet). */
export async function compileProject(
  config: ProjectConfig,
  opts: { asOf?: string; tags?: readonly string[] } = {},
): Promise<BuildPlan> {
  const { program } = await requireProgram(config);
  let asOfMicros = Date.now() * 1000;
  if (existsSync(config.engine.path)) {
    const wh = await Warehouse.open(config.engine.path, { readOnly: true });
    try {
      asOfMicros = await resolveAsOf(opts.asOf ?? config.settings.asOf, wh, {
        timezone: config.timezone,
        eventSources: program.eventSources.map((s) => ({ source: s, timeColumn: program.timeColumns[s]! })),
        now: () => new Date(),
      }).catch(() => asOfMicros);
    } finally {
      wh.close();
    }
  }
  return planBuild(program, selectTags(program, opts.tags), asOfMicros, {
    dialect: duckdbDialect,
    sourceTable: (s) => qualified('main', s),
    entityType: config.entity.idType === 'integer' ? 'BIGINT' : 'VARCHAR',
  });
}
