/**
 * Interactions: the events of a recommender's source that link an entity to an item, read from the
 * warehouse into typed arrays (one entry per event), and the implicit-feedback matrix built from them.
 *
 * `item`, `where` and `amount` are checked by the tag checker and compiled to SQL by the DuckDB
 * dialect, so they mean exactly what they mean in tags.
 */

import { duckdbDialect } from '../compile/duckdb/dialect.js';
import { compileExpr, type Resolver } from '../compile/expression.js';
import type { ProjectConfig } from '../config/project.js';
import { checkDefinitions } from '../lang/checker.js';
import { type Expr, forEachNode } from '../lang/ir.js';
import { schemasFromWarehouse } from '../lang/schemas.js';
import { ProjectError, TagverseError } from '../util/problems.js';
import { ident, qualified } from '../warehouse/sql.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { AMOUNT_TAG, ITEM_TAG, type RecsDefinition } from './definition.js';
import { type Csr, csrFromTriples } from './matrix.js';

/** One entry per event: entity and item as dictionary codes, time (epoch ms) and amount. */
export interface InteractionLog {
  readonly entities: readonly string[];
  readonly items: readonly string[];
  readonly entity: Uint32Array;
  readonly item: Uint32Array;
  readonly time: Float64Array;
  /** NaN when the recommender has no amount. */
  readonly amount: Float64Array;
  /** The newest event time (epoch ms): the as-of time of recency weighting. */
  readonly asOfMs: number;
}

/** The SQL selecting (entity, item, time, amount) of a recommender's events as of `asOfMs`. */
export async function interactionsSql(
  wh: Warehouse,
  config: ProjectConfig,
  def: RecsDefinition,
): Promise<string> {
  const src = config.sources.get(def.input.from);
  if (src?.kind !== 'events') {
    const events = [...config.sources.values()].filter((s) => s.kind === 'events').map((s) => s.name);
    throw new ProjectError([
      def.file.problem(
        ['from'],
        `'${def.input.from}' is not an events source (events sources: ${events.join(', ') || 'none'})`,
      ),
    ]);
  }
  const schemas = await schemasFromWarehouse(wh, config);
  if (!schemas.has(src.name)) {
    throw new TagverseError('recs.no_data', `source '${src.name}' is not ingested yet: run tagverse ingest`);
  }
  const defs = [def.itemDefinition, ...(def.amountDefinition ? [def.amountDefinition] : [])];
  const checked = checkDefinitions(config, schemas, defs);
  const errors = checked.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0 || !checked.program) throw new ProjectError(errors);
  const aggOf = (name: string) => checked.program!.tags.find((t) => t.name === name)?.aggregates[0];
  const itemAgg = aggOf(ITEM_TAG)!;
  const amountAgg = def.amountDefinition ? aggOf(AMOUNT_TAG) : undefined;
  const profileRead = (e: Expr | undefined, field: string) => {
    forEachNode(e, (x) => {
      if (x.kind === 'profile') {
        throw new ProjectError([
          def.file.problem(
            [field],
            `a recommender reads event columns only; '${x.source}.${x.column}' is a profile attribute`,
          ),
        ]);
      }
    });
  };
  profileRead(itemAgg.arg, 'item');
  profileRead(itemAgg.filter, 'where');
  profileRead(amountAgg?.arg, 'amount');
  const r: Resolver = {
    column: (_s, col) => `ev.${ident(col)}`,
    profile: () => 'NULL',
    tag: () => 'NULL',
    agg: () => 'NULL',
    asOf: () => 'now()',
  };
  const sql = (e: Expr) => compileExpr(e, duckdbDialect, r, config.timezone);
  const time = `ev.${ident(src.timestamp.column)}`;
  const item = `CAST(${sql(itemAgg.arg!)} AS VARCHAR)`;
  const amount = amountAgg?.arg ? `CAST(${sql(amountAgg.arg)} AS DOUBLE)` : 'CAST(NULL AS DOUBLE)';
  return `SELECT CAST(ev.${ident(src.entityKey)} AS VARCHAR) AS e, ${item} AS i,
    CAST(epoch_ms(${time}) AS DOUBLE) AS t, ${amount} AS a
    FROM ${qualified('main', src.name)} AS ev
    WHERE ev.${ident(src.entityKey)} IS NOT NULL AND ${time} IS NOT NULL AND ${item} IS NOT NULL
      ${itemAgg.filter ? `AND (${sql(itemAgg.filter)})` : ''}`;
}

/** Read a recommender's events (optionally only those at or before `asOf`, epoch ms). */
export async function readInteractions(
  wh: Warehouse,
  config: ProjectConfig,
  def: RecsDefinition,
  opts: { asOfMs?: number } = {},
): Promise<InteractionLog> {
  const base = await interactionsSql(wh, config, def);
  const where = opts.asOfMs !== undefined ? `WHERE t <= ${Number(opts.asOfMs)}` : '';
  const reader = await wh.connection.runAndReadAll(`SELECT * FROM (${base}) ${where}`);
  const [es, is, ts, as] = reader.getColumnsJS() as [string[], string[], number[], (number | null)[]];
  const n = es?.length ?? 0;
  const entityCode = new Map<string, number>();
  const itemCode = new Map<string, number>();
  const entity = new Uint32Array(n);
  const item = new Uint32Array(n);
  const time = new Float64Array(n);
  const amount = new Float64Array(n);
  let asOfMs = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < n; k++) {
    const e = es[k]!;
    let ec = entityCode.get(e);
    if (ec === undefined) {
      ec = entityCode.size;
      entityCode.set(e, ec);
    }
    const i = is[k]!;
    let ic = itemCode.get(i);
    if (ic === undefined) {
      ic = itemCode.size;
      itemCode.set(i, ic);
    }
    entity[k] = ec;
    item[k] = ic;
    time[k] = ts[k]!;
    amount[k] = as[k] ?? Number.NaN;
    if (ts[k]! > asOfMs) asOfMs = ts[k]!;
  }
  return {
    entities: [...entityCode.keys()],
    items: [...itemCode.keys()],
    entity,
    item,
    time,
    amount,
    asOfMs: opts.asOfMs ?? (n === 0 ? 0 : asOfMs),
  };
}

export interface Weighting {
  readonly weight: 'binary' | 'count' | 'amount';
  readonly scale: 'log' | 'raw';
  readonly halfLifeSeconds?: number;
}

/**
 * The implicit-feedback matrix (entities x items): each event weighs 1 (binary, count) or its amount
 * (events with an amount that is not positive count 0), times 0.5^(age / half_life) when recency
 * weighted (age from `asOfMs`); a cell is the sum, then log(1 + sum) (scale log), or 1 for binary.
 * `keep(k)` says which events take part (the training part of a split).
 */
export function interactionMatrix(
  log: InteractionLog,
  w: Weighting,
  opts: { keep?: (event: number) => boolean; asOfMs?: number } = {},
): Csr {
  const n = log.entity.length;
  const weight = new Float64Array(n);
  const asOf = opts.asOfMs ?? log.asOfMs;
  const halfLifeMs = w.halfLifeSeconds !== undefined ? w.halfLifeSeconds * 1000 : undefined;
  for (let k = 0; k < n; k++) {
    if (opts.keep && !opts.keep(k)) continue;
    let v = w.weight === 'amount' ? log.amount[k]! : 1;
    if (!(v > 0)) continue;
    if (halfLifeMs !== undefined && halfLifeMs > 0)
      v *= 0.5 ** (Math.max(0, asOf - log.time[k]!) / halfLifeMs);
    weight[k] = v;
  }
  const transform =
    w.weight === 'binary' ? () => 1 : w.scale === 'log' ? (x: number) => Math.log1p(x) : (x: number) => x;
  return csrFromTriples(log.entities.length, log.items.length, log.entity, log.item, weight, transform);
}
