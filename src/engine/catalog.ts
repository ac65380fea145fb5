/**
 * The governed tag catalog: every tag with its owner, status, version, dependencies (both ways) and
 * coverage from the last build; versions recorded per definition change; impact previews of a change
 * before it is built (`tagverse diff`).
 *
 * A tag's version starts at 1 and goes up each time a build meets a changed definition; tag history
 * rows carry the version that produced them.
 */
import { createHash } from 'node:crypto';
import { duckdbDialect } from '../compile/duckdb/dialect.js';
import { planBuild } from '../compile/plan.js';
import { type ProjectConfig, requireProject } from '../config/project.js';
import type { TagIR, TagProgram } from '../lang/ir.js';
import { schemasFromWarehouse } from '../lang/schemas.js';
import { ident, qualified, str } from '../warehouse/sql.js';
import { Warehouse } from '../warehouse/warehouse.js';
import { resolveAsOf } from './as-of.js';
import { COVERAGE, CURRENT, ENTITY_ID, selectTags } from './build.js';
import { loadProgram, requireProgram } from './program.js';

export const CATALOG = 'tags.catalog';

export async function ensureCatalogTable(wh: Warehouse): Promise<void> {
  await wh.run(`CREATE TABLE IF NOT EXISTS ${CATALOG} (
    tag VARCHAR NOT NULL, version INTEGER NOT NULL, definition_hash VARCHAR NOT NULL,
    definition JSON NOT NULL, recorded_at TIMESTAMPTZ NOT NULL, build_id BIGINT NOT NULL)`);
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** What identifies a definition: its fields (order-insensitive) and, for companions, which output. */
export function definitionHash(tag: TagIR): string {
  // Only what changes values counts: wording, owner and status changes are not new versions.
  const {
    title: _t,
    description: _d,
    owner: _o,
    status: _s,
    ...computation
  } = tag.definition as Record<string, unknown>;
  const what = { definition: canonical(computation), output: tag.companionOf ? tag.name : null };
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 16);
}

/** The latest recorded version and hash of each tag. */
export async function recordedVersions(
  wh: Warehouse,
): Promise<Map<string, { version: number; hash: string }>> {
  if (!(await wh.tableExists('tags', 'catalog'))) return new Map();
  const rows = await wh.objects<{ tag: string; version: number; definition_hash: string }>(
    `SELECT tag, max(version) AS version, arg_max(definition_hash, version) AS definition_hash FROM ${CATALOG} GROUP BY tag`,
  );
  return new Map(rows.map((r) => [r.tag, { version: Number(r.version), hash: r.definition_hash }]));
}

/** Record a new version for every tag whose definition changed since it was last built; returns all versions. */
export async function recordVersions(
  wh: Warehouse,
  tags: readonly TagIR[],
  buildId: number,
): Promise<Map<string, number>> {
  await ensureCatalogTable(wh);
  const known = await recordedVersions(wh);
  const out = new Map<string, number>();
  for (const t of tags) {
    const hash = definitionHash(t);
    const prev = known.get(t.name);
    if (prev && prev.hash === hash) {
      out.set(t.name, prev.version);
      continue;
    }
    const version = (prev?.version ?? 0) + 1;
    await wh.run(
      `INSERT INTO ${CATALOG} VALUES (${str(t.name)}, ${version}, ${str(hash)}, ${str(JSON.stringify(t.definition))}, now(), ${buildId})`,
    );
    out.set(t.name, version);
  }
  return out;
}

export interface CatalogEntry {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly category: string;
  readonly owner: string;
  readonly status: string;
  readonly type: string;
  readonly kind: string;
  readonly source?: string;
  readonly companionOf?: string;
  /** Latest built version; null when never built. */
  readonly version: number | null;
  /** The definition differs from the one last built. */
  readonly changed: boolean;
  readonly dependsOn: readonly string[];
  readonly dependents: readonly string[];
  /** Warnings: deprecated, or reads a deprecated tag. */
  readonly warnings: readonly string[];
  readonly coverage?: { readonly nonNull: number; readonly trueShare?: number; readonly mean?: number };
  readonly file: string;
  readonly line: number;
}

/** Tags that read `name`, directly. */
export function dependentsOf(program: TagProgram): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const t of program.tags) {
    for (const d of t.dependsOn) out.set(d, [...(out.get(d) ?? []), t.name]);
  }
  return out;
}

/** Deprecation warnings of each tag (empty when none). */
export function deprecationWarnings(program: TagProgram): Map<string, string[]> {
  const status = new Map(program.tags.map((t) => [t.name as string, t.status]));
  const out = new Map<string, string[]>();
  for (const t of program.tags) {
    const w: string[] = [];
    if (t.status === 'deprecated') w.push(`'${t.name}' is deprecated`);
    for (const d of t.dependsOn)
      if (status.get(d) === 'deprecated') w.push(`'${t.name}' reads the deprecated tag '${d}'`);
    if (w.length > 0) out.set(t.name, w);
  }
  return out;
}

export interface ListTagsOptions {
  readonly category?: string;
  readonly status?: string;
}

/**
 * The catalog, optionally filtered.
 * @example
 *   const tags = await listTags('./world', { category: 'preference' });
 */
export async function listTags(
  project: ProjectConfig | string,
  opts: ListTagsOptions = {},
): Promise<CatalogEntry[]> {
  const config = typeof project === 'string' ? requireProject(project) : project;
  const { existsSync } = await import('node:fs');
  const built = existsSync(config.engine.path);
  const wh = built ? await Warehouse.open(config.engine.path, { readOnly: true }) : undefined;
  try {
    const { program } = wh
      ? await requireProgram(config, await schemasFromWarehouse(wh, config))
      : await requireProgram(config);
    const versions = wh ? await recordedVersions(wh) : new Map<string, { version: number; hash: string }>();
    const coverage = new Map<string, { non_null: number; true_share: number | null; mean: number | null }>();
    if (wh && (await wh.tableExists('tags', 'coverage'))) {
      const rows = await wh.objects<{
        tag: string;
        non_null: number;
        true_share: number | null;
        mean: number | null;
      }>(
        `SELECT tag, arg_max(non_null, build_id) AS non_null, arg_max(true_share, build_id) AS true_share, arg_max(mean, build_id) AS mean
         FROM ${COVERAGE} GROUP BY tag`,
      );
      for (const r of rows) coverage.set(r.tag, r);
    }
    const dependents = dependentsOf(program);
    const warnings = deprecationWarnings(program);
    return program.tags
      .filter((t) => (opts.category ? t.category === opts.category : true))
      .filter((t) => (opts.status ? t.status === opts.status : true))
      .map((t) => {
        const v = versions.get(t.name);
        const c = coverage.get(t.name);
        return {
          name: t.name,
          title: t.title,
          description: t.description,
          category: t.category,
          owner: t.owner,
          status: t.status,
          type: t.type,
          kind: t.kind,
          ...(t.source ? { source: t.source } : {}),
          ...(t.companionOf ? { companionOf: t.companionOf } : {}),
          version: v?.version ?? null,
          changed: v !== undefined && v.hash !== definitionHash(t),
          dependsOn: [...t.dependsOn],
          dependents: dependents.get(t.name) ?? [],
          warnings: warnings.get(t.name) ?? [],
          ...(c
            ? {
                coverage: {
                  nonNull: c.non_null,
                  ...(c.true_share !== null ? { trueShare: c.true_share } : {}),
                  ...(c.mean !== null ? { mean: c.mean } : {}),
                },
              }
            : {}),
          file: t.file,
          line: t.line,
        };
      });
  } finally {
    wh?.close();
  }
}

export interface TagImpact {
  readonly tag: string;
  readonly type: string;
  /** Why it is previewed: a new tag, a changed definition, a tag it reads changed, or asked for. */
  readonly reason: 'new' | 'changed' | 'upstream' | 'requested';
  readonly entities: number;
  /** Booleans: entities that would become true / stop being true. */
  readonly entering?: number;
  readonly leaving?: number;
  /** Entities whose value would change at all. */
  readonly changedValues: number;
}

export interface DiffResult {
  readonly asOf: string;
  readonly impacts: readonly TagImpact[];
}

/**
 * Impact preview of definition changes before they are built: new and changed tags (or the ones named)
 * are computed as of the last build time and compared with the stored current values.
 * @example
 *   const { impacts } = await diffTags('./world');
 *   // [{ tag: 'golf_lover', reason: 'changed', entering: 120, leaving: 35, ... }]
 */
export async function diffTags(
  project: ProjectConfig | string,
  opts: { tags?: readonly string[] } = {},
): Promise<DiffResult> {
  const config = typeof project === 'string' ? requireProject(project) : project;
  const wh = await Warehouse.open(config.engine.path);
  try {
    const { program } = await requireProgram(config, await schemasFromWarehouse(wh, config));
    const versions = await recordedVersions(wh);
    const hasCurrent = await wh.tableExists('tags', 'current');
    const currentCols = hasCurrent
      ? new Set((await wh.columns('tags', 'current')).map((c) => c.name))
      : new Set<string>();
    const wanted = opts.tags && opts.tags.length > 0 ? new Set(opts.tags) : undefined;
    const direct = new Set(
      program.tags
        .filter((t) => {
          if (wanted) return wanted.has(t.name);
          const v = versions.get(t.name);
          return !v || v.hash !== definitionHash(t) || !currentCols.has(t.name);
        })
        .map((t) => t.name as string),
    );
    // Tags reading a changed tag change too (program order puts readers after what they read).
    const affected = new Set(direct);
    for (const t of program.tags) if (t.dependsOn.some((d) => affected.has(d))) affected.add(t.name);
    const candidates = program.tags.filter((t) => affected.has(t.name));
    if (wanted) selectTags(program, [...wanted]);
    const lastAsOf = await wh.scalar<bigint | null>(
      (await wh.tableExists('tags', 'builds'))
        ? 'SELECT epoch_us(max(as_of)) FROM tags.builds'
        : 'SELECT NULL',
    );
    const asOf =
      lastAsOf !== null && lastAsOf !== undefined
        ? Number(lastAsOf)
        : await resolveAsOf(config.settings.asOf, wh, {
            timezone: config.timezone,
            eventSources: program.eventSources.map((s) => ({
              source: s,
              timeColumn: program.timeColumns[s]!,
            })),
            now: () => new Date(),
          });
    if (candidates.length === 0) return { asOf: new Date(asOf / 1000).toISOString(), impacts: [] };
    const plan = planBuild(
      program,
      selectTags(
        program,
        candidates.map((t) => t.name),
      ),
      asOf,
      {
        dialect: duckdbDialect,
        sourceTable: (s) => qualified('main', s),
        entityType: config.entity.idType === 'integer' ? 'BIGINT' : 'VARCHAR',
        prefix: '_tv_diff_',
      },
    );
    for (const s of plan.statements) await wh.run(`CREATE OR REPLACE TEMP TABLE ${s.table} AS ${s.select}`);
    const impacts: TagImpact[] = [];
    for (const t of candidates) {
      const reason: TagImpact['reason'] = !direct.has(t.name)
        ? 'upstream'
        : wanted
          ? 'requested'
          : versions.has(t.name) && currentCols.has(t.name)
            ? 'changed'
            : 'new';
      const q = ident(t.name);
      const old = currentCols.has(t.name) ? `o.${q}` : 'NULL';
      const join = hasCurrent ? `LEFT JOIN ${CURRENT} o ON o.${ident(ENTITY_ID)} = n."_tv_entity"` : '';
      const boolParts =
        t.type === 'boolean'
          ? `, count(*) FILTER (WHERE n.${q} IS TRUE AND ${old} IS NOT TRUE)::BIGINT AS entering,
             count(*) FILTER (WHERE n.${q} IS NOT TRUE AND ${old} IS TRUE)::BIGINT AS leaving`
          : '';
      const [row] = await wh.objects<{
        entities: number;
        changed: number;
        entering?: number;
        leaving?: number;
      }>(
        `SELECT count(*)::BIGINT AS entities,
           count(*) FILTER (WHERE to_json(n.${q})::VARCHAR IS DISTINCT FROM to_json(${old})::VARCHAR)::BIGINT AS changed${boolParts}
         FROM ${plan.output} n ${join}`,
      );
      impacts.push({
        tag: t.name,
        type: t.type,
        reason,
        entities: Number(row?.entities ?? 0),
        ...(t.type === 'boolean'
          ? { entering: Number(row?.entering ?? 0), leaving: Number(row?.leaving ?? 0) }
          : {}),
        changedValues: Number(row?.changed ?? 0),
      });
    }
    return { asOf: new Date(asOf / 1000).toISOString(), impacts };
  } finally {
    wh.close();
  }
}

/** Problems-as-warnings for deprecated tags and their readers (for check/build output). */
export async function catalogWarnings(config: ProjectConfig): Promise<string[]> {
  const { program } = await loadProgram(config);
  if (!program) return [];
  return [...deprecationWarnings(program).values()].flat();
}
