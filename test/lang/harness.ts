/**
 * Shared set-up of the language tests: a small fixed project (two events sources, one profile), tag
 * definitions as YAML text checked into a program, the same rows loaded into DuckDB and handed to
 * the reference evaluator, and a comparison of the two engines' values entity by entity.
 */

import { duckdbDialect } from '../../src/compile/duckdb/dialect.js';
import { closure, ENTITY, planBuild } from '../../src/compile/plan.js';
import type { ProjectConfig } from '../../src/config/project.js';
import { DEFAULT_CATEGORIES } from '../../src/config/schema.js';
import { checkDefinitions } from '../../src/lang/checker.js';
import { parseTagFile } from '../../src/lang/definitions.js';
import type { ListItem, RefValue } from '../../src/lang/functions.js';
import type { TagIR, TagProgram, ValueType } from '../../src/lang/ir.js';
import { type SourceSchema, valueTypeOfDuck } from '../../src/lang/schemas.js';
import {
  type EntityKey,
  evaluateTags,
  type ReferenceData,
  type RefRow,
  type TagValues,
} from '../../src/reference/evaluator.js';
import { formatProblem } from '../../src/util/problems.js';
import { ident, str } from '../../src/warehouse/sql.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';

export interface SourceSpec {
  readonly name: string;
  readonly kind: 'events' | 'profile';
  readonly entityKey: string;
  readonly timeColumn?: string;
  /** Column name -> DuckDB type (without `_file_id`/`_row`, which events tables get too). */
  readonly columns: readonly (readonly [string, string])[];
}

/** The test project: card transactions, web visits (keyed by another column name), customers. */
export const SOURCES: readonly SourceSpec[] = [
  {
    name: 'tx',
    kind: 'events',
    entityKey: 'customer_id',
    timeColumn: 'ts',
    columns: [
      ['customer_id', 'VARCHAR'],
      ['ts', 'TIMESTAMPTZ'],
      ['amount', 'DOUBLE'],
      ['qty', 'INTEGER'],
      ['channel', 'VARCHAR'],
      ['category', 'VARCHAR'],
      ['online', 'BOOLEAN'],
      ['day', 'DATE'],
    ],
  },
  {
    name: 'visits',
    kind: 'events',
    entityKey: 'visitor',
    timeColumn: 'at',
    columns: [
      ['visitor', 'VARCHAR'],
      ['at', 'TIMESTAMPTZ'],
      ['page', 'VARCHAR'],
      ['secs', 'DOUBLE'],
    ],
  },
  {
    name: 'customers',
    kind: 'profile',
    entityKey: 'customer_id',
    columns: [
      ['customer_id', 'VARCHAR'],
      ['age', 'INTEGER'],
      ['region', 'VARCHAR'],
      ['vip', 'BOOLEAN'],
      ['signup', 'DATE'],
      ['since', 'TIMESTAMPTZ'],
    ],
  },
];

/** Value type of each column of each source, as the checker sees it. */
export function columnTypes(source: string): ReadonlyMap<string, ValueType> {
  const spec = SOURCES.find((s) => s.name === source)!;
  return new Map(spec.columns.map(([c, t]) => [c, valueTypeOfDuck(t) as ValueType]));
}

export function schemas(): Map<string, SourceSchema> {
  return new Map(
    SOURCES.map((s) => [
      s.name,
      {
        name: s.name,
        kind: s.kind,
        columns: columnTypes(s.name),
        entityKey: s.entityKey,
        ...(s.timeColumn ? { timeColumn: s.timeColumn } : {}),
      },
    ]),
  );
}

/** The parts of a project config the checker reads. */
export function projectConfig(timezone: string): ProjectConfig {
  return {
    timezone,
    categories: DEFAULT_CATEGORIES.map((c) => ({ ...c })),
    sources: new Map(),
  } as unknown as ProjectConfig;
}

/** Parse and check a YAML tag file; throws with every problem when it does not check. */
export function compile(yaml: string, timezone: string): TagProgram {
  const parsed = parseTagFile('tags.yaml', yaml);
  const checked = checkDefinitions(projectConfig(timezone), schemas(), parsed.definitions);
  const problems = [...parsed.problems, ...checked.problems].filter((p) => p.severity === 'error');
  if (problems.length > 0 || !checked.program) {
    throw new Error(`tags do not check:\n${problems.map((p) => formatProblem(p)).join('\n')}\n---\n${yaml}`);
  }
  return checked.program;
}

function sqlLiteral(duckType: string, v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  switch (duckType) {
    case 'VARCHAR':
      return str(v as string);
    case 'DOUBLE':
      return `CAST(${v} AS DOUBLE)`;
    case 'INTEGER':
    case 'BIGINT':
      return `CAST(${v} AS ${duckType})`;
    case 'BOOLEAN':
      return v ? 'TRUE' : 'FALSE';
    case 'DATE':
      return `CAST(DATE '1970-01-01' + CAST(${v} AS INTEGER) AS DATE)`;
    case 'TIMESTAMPTZ':
      return `CAST(make_timestamp(CAST(${v} AS BIGINT)) AS TIMESTAMPTZ)`;
    default:
      throw new Error(`no literal for ${duckType}`);
  }
}

/** (Re)create `main.<source>` for every source, holding `data`'s rows (events with `_file_id`, `_row`). */
export async function loadTables(wh: Warehouse, data: ReferenceData): Promise<void> {
  for (const s of SOURCES) {
    const columns: (readonly [string, string])[] = [...s.columns];
    if (s.kind === 'events') columns.push(['_file_id', 'INTEGER'], ['_row', 'BIGINT']);
    const table = `main.${ident(s.name)}`;
    await wh.run(
      `CREATE OR REPLACE TABLE ${table} (${columns.map(([c, t]) => `${ident(c)} ${t}`).join(', ')})`,
    );
    const rows = (s.kind === 'events' ? data.events[s.name] : data.profiles[s.name]) ?? [];
    for (let i = 0; i < rows.length; i += 500) {
      const values = rows
        .slice(i, i + 500)
        .map((r) => `(${columns.map(([c, t]) => sqlLiteral(t, r[c])).join(', ')})`);
      await wh.run(`INSERT INTO ${table} VALUES ${values.join(', ')}`);
    }
  }
}

/** SQL reading a tag column of the output table as a reference value. */
function readColumn(tag: TagIR): string {
  const q = ident(tag.name);
  switch (tag.value.type) {
    case 'time':
      return `epoch_us(${q}) AS ${q}`;
    case 'date':
      return `CAST(${q} - DATE '1970-01-01' AS BIGINT) AS ${q}`;
    default:
      return q;
  }
}

/** Build `tags` (default: all) with the DuckDB compiler as of T, over the loaded tables. */
export async function sqlValues(
  wh: Warehouse,
  program: TagProgram,
  asOfMicros: number,
  names?: readonly string[],
): Promise<Map<EntityKey, TagValues>> {
  const tags = closure(program, names);
  const plan = planBuild(program, tags, asOfMicros, {
    dialect: duckdbDialect,
    sourceTable: (s) => `main.${ident(s)}`,
    entityType: 'VARCHAR',
  });
  for (const s of plan.statements) {
    try {
      await wh.run(`CREATE OR REPLACE TEMP TABLE ${s.table} AS ${s.select}`);
    } catch (e) {
      throw new Error(`${s.name} failed: ${(e as Error).message}\n${s.select}`);
    }
  }
  const rows = await wh.objects(
    `SELECT ${ident(ENTITY)}, ${tags.map(readColumn).join(', ')} FROM ${plan.output}`,
  );
  const out = new Map<EntityKey, TagValues>();
  for (const row of rows) {
    const values: TagValues = {};
    for (const t of tags) values[t.name] = (row[t.name] ?? null) as RefValue;
    out.set(row[ENTITY] as EntityKey, values);
  }
  return out;
}

/** The reference evaluator's values for the same tags. */
export function referenceValues(
  program: TagProgram,
  data: ReferenceData,
  asOfMicros: number,
  names?: readonly string[],
): Map<EntityKey, TagValues> {
  return evaluateTags(program, closure(program, names), data, asOfMicros);
}

function numbersAgree(a: number, b: number): boolean {
  if (a === b) return true;
  const scale = Math.max(Math.abs(a), Math.abs(b));
  return Math.abs(a - b) <= (scale < 1 ? 1e-9 : 1e-9 * scale);
}

function valuesAgree(type: ValueType, a: RefValue, b: RefValue): boolean {
  if (a === null || b === null) return a === b;
  if (type === 'list') {
    const x = a as readonly ListItem[];
    const y = b as readonly ListItem[];
    return (
      x.length === y.length &&
      x.every((item, i) => item.value === y[i]!.value && numbersAgree(item.score, y[i]!.score))
    );
  }
  if (type === 'number') return numbersAgree(a as number, b as number);
  // booleans, strings, times (micros) and dates (days) exactly.
  return a === b;
}

/** Every difference between two engines' values, as readable lines (empty when they agree). */
export function differences(
  program: TagProgram,
  left: Map<EntityKey, TagValues>,
  right: Map<EntityKey, TagValues>,
  names: readonly [string, string] = ['sql', 'reference'],
): string[] {
  const out: string[] = [];
  const keys = new Set([...left.keys(), ...right.keys()]);
  for (const k of [...keys].sort()) {
    const l = left.get(k);
    const r = right.get(k);
    if (!l || !r) {
      out.push(`entity ${JSON.stringify(k)} only in ${l ? names[0] : names[1]}`);
      continue;
    }
    for (const t of program.tags) {
      if (!(t.name in l) && !(t.name in r)) continue;
      const a = l[t.name] ?? null;
      const b = r[t.name] ?? null;
      if (!valuesAgree(t.value.type, a, b)) {
        out.push(
          `entity ${JSON.stringify(k)} tag ${t.name}: ${names[0]} ${JSON.stringify(a)} != ${names[1]} ${JSON.stringify(b)}`,
        );
      }
    }
  }
  return out;
}

/** Microseconds of an ISO instant. */
export function micros(iso: string): number {
  return Date.parse(iso) * 1000;
}

export type { ReferenceData, RefRow };

let lastRun: Promise<unknown> = Promise.resolve();

/**
 * A property body that never overlaps another. fast-check's `interruptAfterTimeLimit` stops
 * waiting for a run when time is up but cannot stop it: the abandoned run goes on in the
 * background. Properties that share one warehouse must wait for it, or its statements interleave
 * with the next run's (temp tables of one build read by the other).
 */
export function serially<A extends unknown[]>(
  body: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return (...args: A) => {
    const run = lastRun.then(
      () => body(...args),
      () => body(...args),
    );
    lastRun = run.catch(() => undefined);
    return run;
  };
}
