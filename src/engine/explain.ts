/**
 * `tagverse explain ID TAG`: why an entity has the value it has. The tag is recomputed for that one
 * entity as of the build time (or `asOf`), with every aggregate's own value, the window it covered,
 * the events that contributed most (capped), and the inputs of derived tags.
 */

import { duckdbDialect } from '../compile/duckdb/dialect.js';
import { aggColumn, closure, contributionsSql, ENTITY, planBuild } from '../compile/plan.js';
import { type ProjectConfig, requireProject } from '../config/project.js';
import type { Aggregate, Expr, TagIR } from '../lang/ir.js';
import { forEachNode } from '../lang/ir.js';
import { printAggregate, printExpr, printWindow } from '../lang/printer.js';
import { schemasFromWarehouse } from '../lang/schemas.js';
import { explainModelEvidence, type ModelExplanation } from '../models/explain.js';
import { didYouMeanSuffix } from '../util/did-you-mean.js';
import { TagverseError } from '../util/problems.js';
import { ident, qualified, str } from '../warehouse/sql.js';
import { Warehouse } from '../warehouse/warehouse.js';
import { isoFromMicros, resolveAsOf } from './as-of.js';
import { BUILDS } from './build.js';
import { requireProgram } from './program.js';

export interface EvidenceEvent {
  readonly eventId: string;
  readonly ts: string;
  /** The value the aggregate read from this event (amount, ...), when it reads one. */
  readonly value: unknown;
  /** For top/argmax: the dimension value of the event. */
  readonly label?: unknown;
}

export interface AggregateEvidence {
  readonly call: string;
  readonly value: unknown;
  /** The time span the aggregate covered: (from, to]. */
  readonly window: { readonly text: string; readonly from?: string; readonly to: string };
  readonly events: readonly EvidenceEvent[];
}

export interface Evidence {
  readonly entityId: string;
  readonly tag: {
    readonly name: string;
    readonly title: string;
    readonly description: string;
    readonly category: string;
    readonly type: string;
    readonly kind: string;
    readonly source?: string;
  };
  readonly asOf: string;
  readonly value: unknown;
  /** The value expression with the numbers that decided it, e.g. `count() = 4 >= 3 -> true`. */
  readonly reason: string;
  readonly aggregates: readonly AggregateEvidence[];
  /** Other tags and profile attributes the value read. */
  readonly inputs: readonly {
    readonly name: string;
    readonly kind: 'tag' | 'profile';
    readonly value: unknown;
  }[];
  /** Model tags: each feature's contribution to the score (see src/models/explain.ts). */
  readonly model?: ModelExplanation;
}

export interface ExplainOptions {
  readonly asOf?: string;
  /** Most events to list per aggregate (default 10). */
  readonly limit?: number;
}

export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 10_000) / 10_000);
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) {
    return `[${v.map((x) => (x && typeof x === 'object' && 'value' in x ? `${(x as { value: unknown }).value} (${formatValue((x as { score: unknown }).score)})` : formatValue(x))).join(', ')}]`;
  }
  return String(v);
}

/**
 * Explain one tag value of one entity.
 * @example
 *   const ev = await explain('./world', 'C0000042', 'golf_lover');
 *   console.log(ev.reason); // count() = 4 >= 3 and ... -> true
 */
export async function explain(
  project: ProjectConfig | string,
  entityId: string,
  tagName: string,
  opts: ExplainOptions = {},
): Promise<Evidence> {
  const config = typeof project === 'string' ? requireProject(project) : project;
  // Read-only: explaining never writes (temp tables live in memory), so it can run next to `serve`.
  const wh = await Warehouse.open(config.engine.path, { readOnly: true });
  try {
    const schemas = await schemasFromWarehouse(wh, config);
    const { program } = await requireProgram(config, schemas);
    const tag = program.tags.find((t) => t.name === tagName);
    if (!tag) {
      throw new TagverseError(
        'explain.unknown_tag',
        `unknown tag '${tagName}'${didYouMeanSuffix(
          tagName,
          program.tags.map((t) => t.name),
        )}`,
      );
    }
    const asOfMicros = await explainAsOf(wh, config, tag, opts.asOf);
    const idLit = config.entity.idType === 'integer' && /^-?\d+$/.test(entityId) ? entityId : str(entityId);
    // Model tags are explained by their features' contributions (TreeSHAP, or coefficient x value).
    if (tag.kind === 'model') {
      return await explainModelEvidence(wh, config, program, schemas, tag, entityId, idLit, asOfMicros);
    }
    const tags = closure(program, [tag.name]);
    const plan = planBuild(program, tags, asOfMicros, {
      dialect: duckdbDialect,
      sourceTable: (s) => qualified('main', s),
      entityType: config.entity.idType === 'integer' ? 'BIGINT' : 'VARCHAR',
      prefix: '_tv_x_',
      entity: idLit,
      keepAggregates: true,
    });
    for (const s of plan.statements) await wh.run(`CREATE OR REPLACE TEMP TABLE ${s.table} AS ${s.select}`);
    const rows = await wh.objects(`SELECT * FROM ${plan.output}`);
    const row = rows[0];
    if (!row) {
      throw new TagverseError(
        'explain.unknown_entity',
        `no ${config.entity.name} '${entityId}' with data at or before ${isoFromMicros(asOfMicros)}`,
      );
    }
    const aggs = new Map<string, Aggregate>();
    for (const t of tags) for (const a of t.aggregates) aggs.set(a.id, a);
    const aggValue = (id: string) => row[aggColumn(id)];
    const reason = `${printExpr(tag.value, {
      agg: (id) => `${printAggregate(aggs.get(id)!)} = ${formatValue(aggValue(id))}`,
      tag: (n) => `${n} = ${formatValue(row[n])}`,
    })} -> ${formatValue(row[tag.name])}`;
    const eventIds = new Map<string, string | undefined>();
    for (const s of config.sources.values()) if (s.kind === 'events') eventIds.set(s.name, s.eventId);
    const aggregates: AggregateEvidence[] = [];
    for (const a of tag.aggregates) {
      const events = await wh.objects<{ event_id: string; ts: string; value: unknown; label: unknown }>(
        contributionsSql(program, a, asOfMicros, {
          dialect: duckdbDialect,
          sourceTable: (s) => qualified('main', s),
          entityType: 'VARCHAR',
          entity: idLit,
          ...(eventIds.get(a.source) ? { eventIdColumn: eventIds.get(a.source)! } : {}),
          limit: opts.limit ?? 10,
        }),
      );
      aggregates.push({
        call: printAggregate(a),
        value: aggValue(a.id),
        window: windowSpan(a, asOfMicros),
        events: events.map((e) => ({
          eventId: e.event_id,
          ts: e.ts,
          value: e.value,
          ...(a.fn === 'top' || a.fn === 'argmax' ? { label: e.label } : {}),
        })),
      });
    }
    const inputs: { name: string; kind: 'tag' | 'profile'; value: unknown }[] = [];
    const seen = new Set<string>();
    forEachNode(tag.value, (x: Expr) => {
      if (x.kind === 'tag' && !seen.has(`t:${x.name}`)) {
        seen.add(`t:${x.name}`);
        inputs.push({ name: x.name, kind: 'tag', value: row[x.name] });
      }
    });
    const profileCols = collectProfile(tag);
    if (profileCols.length > 0) {
      for (const p of profileCols) {
        const key = program.entityKeys[p.source]!;
        const v = await wh.objects(
          `SELECT ${ident(p.column)} AS v FROM ${qualified('main', p.source)} WHERE ${ident(key)} = ${idLit} LIMIT 1`,
        );
        inputs.push({ name: p.column, kind: 'profile', value: v[0]?.v ?? null });
      }
    }
    return {
      entityId: String(row[ENTITY]),
      tag: {
        name: tag.name,
        title: tag.title,
        description: tag.description,
        category: tag.category,
        type: tag.type,
        kind: tag.kind,
        ...(tag.source ? { source: tag.source } : {}),
      },
      asOf: isoFromMicros(asOfMicros),
      value: row[tag.name],
      reason,
      aggregates,
      inputs,
    };
  } finally {
    wh.close();
  }
}

function collectProfile(tag: TagIR): { source: string; column: string }[] {
  const out = new Map<string, { source: string; column: string }>();
  forEachNode(tag.value, (x) => {
    if (x.kind === 'profile') out.set(`${x.source}.${x.column}`, { source: x.source, column: x.column });
  });
  return [...out.values()];
}

function windowSpan(a: Aggregate, asOf: number): AggregateEvidence['window'] {
  const text = printWindow(a.window);
  switch (a.window.kind) {
    case 'ever':
      return { text, to: isoFromMicros(asOf) };
    case 'last':
      return { text, from: isoFromMicros(asOf - a.window.seconds * 1e6), to: isoFromMicros(asOf) };
    case 'between':
      return {
        text,
        from: isoFromMicros(asOf - a.window.fromSeconds * 1e6),
        to: isoFromMicros(asOf - a.window.toSeconds * 1e6),
      };
  }
}

/** The as-of of the latest build that built the tag, else the project default. */
async function explainAsOf(
  wh: Warehouse,
  config: ProjectConfig,
  tag: TagIR,
  spec: string | undefined,
): Promise<number> {
  const ctx = {
    timezone: config.timezone,
    eventSources: [...config.sources.values()].flatMap((s) =>
      s.kind === 'events' ? [{ source: s.name, timeColumn: s.timestamp.column }] : [],
    ),
    now: () => new Date(),
  };
  if (spec !== undefined) return resolveAsOf(spec, wh, ctx);
  if (await wh.tableExists('tags', 'builds')) {
    const last = await wh.scalar<bigint | null>(
      `SELECT epoch_us(as_of) FROM ${BUILDS} WHERE list_contains(tags, ${str(tag.name)}) ORDER BY build_id DESC LIMIT 1`,
    );
    if (last !== null && last !== undefined) return Number(last);
  }
  return resolveAsOf(config.settings.asOf, wh, ctx);
}
