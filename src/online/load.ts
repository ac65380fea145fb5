/**
 * Load the online store from the warehouse: `tags.current` (one row per entity, one typed column per
 * tag) joined with the profile sources, streamed chunk by chunk straight into typed arrays (no row
 * objects), in entity id order. The checked tag program and the source schemas come along so the
 * store can check segment expressions without the warehouse.
 */
import type { DuckDBVector } from '@duckdb/node-api';
import type { ProjectConfig } from '../config/project.js';
import { BUILDS, CURRENT, ENTITY_ID, readCoverage } from '../engine/build.js';
import { requireProgram } from '../engine/program.js';
import type { ValueType } from '../lang/ir.js';
import { schemasFromWarehouse, valueTypeOfDuck } from '../lang/schemas.js';
import { TagverseError } from '../util/problems.js';
import { ident, qualified } from '../warehouse/sql.js';
import { Warehouse } from '../warehouse/warehouse.js';
import { Bitmap } from './bitmap.js';
import { booleanColumn, type Column, listColumn, NULL_BOOL, numberColumn, stringColumn } from './columns.js';
import { type StoreInfo, TagStore } from './store.js';

export interface LoadStoreOptions {
  /** Called with the share of rows read so far (0..1). */
  readonly onProgress?: (fraction: number) => void;
}

/** The latest build recorded in the warehouse (0 and the epoch when there is none). */
export async function latestBuild(wh: Warehouse): Promise<{ buildId: number; asOfMicros: number }> {
  if (!(await wh.tableExists('tags', 'builds'))) return { buildId: 0, asOfMicros: 0 };
  const rows = await wh.objects<{ id: number; us: number }>(
    `SELECT build_id AS id, epoch_us(as_of) AS us FROM ${BUILDS} ORDER BY build_id DESC LIMIT 1`,
  );
  return rows[0]
    ? { buildId: Number(rows[0].id), asOfMicros: Number(rows[0].us) }
    : { buildId: 0, asOfMicros: 0 };
}

/** One column to read: its SQL, its value type, and where it goes. */
interface Source {
  readonly key: string;
  readonly target: 'tag' | 'profile';
  readonly sql: string;
  readonly type: ValueType;
}

/** SQL reading a column as the store keeps it: numbers as DOUBLE, times as epoch µs, dates as days. */
function readSql(expr: string, type: ValueType): string {
  // Numbers (and booleans) come without nulls, as NaN (and 255): a vector with no null has no validity
  // mask, so reading a value skips the client's validity check, which costs a BigInt per value
  // (loading 1M x 100 reads 40 million of them).
  switch (type) {
    case 'number':
      return `coalesce(CAST(${expr} AS DOUBLE), 'NaN'::DOUBLE)`;
    case 'time':
      return `coalesce(CAST(epoch_us(${expr}) AS DOUBLE), 'NaN'::DOUBLE)`;
    case 'date':
      return `coalesce(CAST(${expr} - DATE '1970-01-01' AS DOUBLE), 'NaN'::DOUBLE)`;
    case 'boolean':
      return `CAST(CASE WHEN ${expr} IS NULL THEN ${NULL_BOOL} WHEN ${expr} THEN 1 ELSE 0 END AS UTINYINT)`;
    case 'list':
      return `CAST(to_json(${expr}) AS VARCHAR)`;
    default:
      return expr;
  }
}

/** The value type of a tags.current column from its DuckDB type. */
function tagColumnType(duck: string): ValueType | undefined {
  if (/^STRUCT\(.*\)\[\]$/i.test(duck)) return 'list';
  const t = valueTypeOfDuck(duck);
  return t === 'other' || t === 'null' || t === 'duration' ? undefined : t;
}

/** Accumulates one column's values while chunks stream by. */
class ColumnReader {
  private readonly bools?: Uint8Array;
  private readonly nums?: Float64Array;
  private readonly codes?: Int32Array;
  private readonly dict: string[] = [];
  private readonly codeOf = new Map<string, number>();
  private readonly lists?: { offsets: Uint32Array; items: number[]; scores: number[]; nonNull: number[] };

  constructor(
    readonly source: Source,
    n: number,
  ) {
    switch (source.type) {
      case 'boolean':
        this.bools = new Uint8Array(n).fill(NULL_BOOL);
        break;
      case 'string':
        this.codes = new Int32Array(n).fill(-1);
        break;
      case 'list':
        this.lists = { offsets: new Uint32Array(n + 1), items: [], scores: [], nonNull: [] };
        break;
      default:
        this.nums = new Float64Array(n).fill(Number.NaN);
    }
  }

  private code(v: string): number {
    let c = this.codeOf.get(v);
    if (c === undefined) {
      c = this.dict.length;
      this.dict.push(v);
      this.codeOf.set(v, c);
    }
    return c;
  }

  read(vector: DuckDBVector, base: number, count: number): void {
    if (this.bools) {
      // 0, 1 or NULL_BOOL (readSql).
      for (let i = 0; i < count; i++) {
        const v = vector.getItem(i);
        if (v !== null) this.bools[base + i] = Number(v);
      }
    } else if (this.nums) {
      for (let i = 0; i < count; i++) {
        const v = vector.getItem(i) as number | null;
        if (v !== null && !Number.isNaN(v)) this.nums[base + i] = v;
      }
    } else if (this.codes) {
      for (let i = 0; i < count; i++) {
        const v = vector.getItem(i);
        if (v !== null) this.codes[base + i] = this.code(String(v));
      }
    } else if (this.lists) {
      const l = this.lists;
      for (let i = 0; i < count; i++) {
        const v = vector.getItem(i);
        if (v !== null) {
          l.nonNull.push(base + i);
          for (const item of JSON.parse(String(v)) as { value: string | null; score: number | null }[]) {
            if (item.value === null) continue;
            l.items.push(this.code(item.value));
            l.scores.push(item.score ?? Number.NaN);
          }
        }
        l.offsets[base + i + 1] = l.items.length;
      }
    }
  }

  finish(): Column {
    if (this.bools) return booleanColumn(this.bools);
    if (this.codes) return stringColumn(this.dict, this.codes);
    if (this.lists) {
      const nonNull = new Bitmap();
      nonNull.addMany(Uint32Array.from(this.lists.nonNull));
      return listColumn(
        this.dict,
        this.lists.offsets,
        Uint32Array.from(this.lists.items),
        Float64Array.from(this.lists.scores),
        nonNull,
      );
    }
    return numberColumn(this.source.type as 'number' | 'time' | 'date', this.nums!);
  }
}

/**
 * Load the latest built tags of a project into a new store.
 * @example
 *   const store = await loadStore(requireProject('./world'));
 *   store.profile('C0000042').categories.preference;
 */
export async function loadStore(config: ProjectConfig, opts: LoadStoreOptions = {}): Promise<TagStore> {
  const started = Date.now();
  const wh = await Warehouse.open(config.engine.path, { readOnly: true });
  try {
    if (!(await wh.tableExists('tags', 'current'))) {
      throw new TagverseError('serve.not_built', 'no tags are built yet: run tagverse build');
    }
    const schemas = await schemasFromWarehouse(wh, config);
    const { program } = await requireProgram(config, schemas);
    const build = await latestBuild(wh);
    const currentTypes = new Map((await wh.columns('tags', 'current')).map((c) => [c.name, c.type]));
    const sources: Source[] = [];
    for (const t of program.tags) {
      const duck = currentTypes.get(t.name);
      const type = duck === undefined ? undefined : tagColumnType(duck);
      // A tag defined but not built yet is served as null everywhere.
      const sqlType =
        type ?? (t.value.type === 'null' || t.value.type === 'duration' ? 'string' : t.value.type);
      const sql = type === undefined ? 'NULL' : readSql(`t.${ident(t.name)}`, type);
      sources.push({ key: t.name, target: 'tag', sql, type: sqlType });
    }
    const joins: string[] = [];
    program.profiles.forEach((source, i) => {
      const schema = schemas.get(source);
      const key = program.entityKeys[source];
      if (!schema || !key) return;
      const alias = `p${i}`;
      joins.push(
        `LEFT JOIN (SELECT * FROM ${qualified('main', source)} QUALIFY row_number() OVER (PARTITION BY ${ident(key)}) = 1) ${alias}
           ON CAST(${alias}.${ident(key)} AS VARCHAR) = CAST(t.${ident(ENTITY_ID)} AS VARCHAR)`,
      );
      for (const [column, type] of schema.columns) {
        if (column === key || type === 'other' || type === 'null' || type === 'duration' || type === 'list')
          continue;
        sources.push({
          key: `${source}.${column}`,
          target: 'profile',
          sql: readSql(`${alias}.${ident(column)}`, type),
          type,
        });
      }
    });
    const n = Number(await wh.scalar(`SELECT count(*) FROM ${CURRENT}`));
    const readers = sources.map((s) => new ColumnReader(s, n));
    const ids: string[] = new Array(n);
    const select = [`CAST(t.${ident(ENTITY_ID)} AS VARCHAR)`, ...sources.map((s) => s.sql)].join(', ');
    const result = await wh.connection.stream(
      `SELECT ${select} FROM ${CURRENT} t ${joins.join(' ')} ORDER BY t.${ident(ENTITY_ID)}`,
    );
    let base = 0;
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const count = chunk.rowCount;
      const idVector = chunk.getColumnVector(0);
      for (let i = 0; i < count; i++) ids[base + i] = String(idVector.getItem(i));
      readers.forEach((r, c) => {
        r.read(chunk.getColumnVector(c + 1), base, count);
      });
      base += count;
      opts.onProgress?.(n === 0 ? 1 : base / n);
    }
    if (base !== n) throw new Error(`tags.current changed while loading (${base} rows read, ${n} expected)`);
    const tags = new Map<string, Column>();
    const profiles = new Map<string, Column>();
    for (const r of readers) (r.source.target === 'tag' ? tags : profiles).set(r.source.key, r.finish());
    const info: StoreInfo = {
      project: config.name,
      entityName: config.entity.name,
      buildId: build.buildId,
      asOfMicros: build.asOfMicros,
      loadedFrom: 'warehouse',
      loadedAt: new Date().toISOString(),
      loadMs: Date.now() - started,
    };
    return new TagStore({
      ids,
      tags,
      profiles,
      program,
      schemas,
      categories: config.categories.map((c) => c.name),
      coverage: await readCoverage(wh),
      info,
    });
  } finally {
    wh.close();
  }
}
