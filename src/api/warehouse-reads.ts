/**
 * Read-only warehouse queries behind the console routes (console-routes.ts): the state of each source
 * (rows, rejects, freshness), recent loads and builds, a tag's versions and coverage over time, and an
 * entity's events. Each opens the warehouse read-only for one request, as explanations do; callers run
 * them through the WarehouseGate (one at a time, within the time limit).
 */
import { existsSync, statSync } from 'node:fs';
import type { z } from '@hono/zod-openapi';
import type { EventsSource, ProjectConfig } from '../config/project.js';
import { BUILDS, HISTORY } from '../engine/build.js';
import { CATALOG } from '../engine/catalog.js';
import { FILES, LOADS, REJECTS } from '../ingest/metadata.js';
import { ident, qualified, str } from '../warehouse/sql.js';
import { Warehouse } from '../warehouse/warehouse.js';
import type * as S from './console-schemas.js';
import { ApiError } from './problem.js';

type Sources = z.infer<typeof S.SourcesSchema>;
type Builds = z.infer<typeof S.BuildsSchema>;
type TagHistory = z.infer<typeof S.TagHistorySchema>;
type Events = z.infer<typeof S.EventsSchema>;

async function withReadOnly<T>(config: ProjectConfig, fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  if (!existsSync(config.engine.path)) {
    throw new ApiError(503, 'warehouse.unavailable', 'the warehouse file is not there: run tagverse ingest', {
      headers: { 'retry-after': '30' },
    });
  }
  const wh = await Warehouse.open(config.engine.path, { readOnly: true });
  try {
    return await fn(wh);
  } finally {
    wh.close();
  }
}

/**
 * Answers that depend only on what the warehouse holds, kept until its file changes (an ingest or a
 * build writes it): the overview and tag pages then cost no warehouse query after the first visit.
 * Concurrent asks for one key share one computation; failures are not kept.
 */
export class WarehouseMemo {
  private signature = '';
  private readonly values = new Map<string, Promise<unknown>>();

  constructor(
    private readonly file: string,
    private readonly maxEntries = 512,
  ) {}

  private currentSignature(): string {
    return [this.file, `${this.file}.wal`]
      .map((f) => {
        try {
          const s = statSync(f);
          return `${s.mtimeMs}:${s.size}`;
        } catch {
          return '-';
        }
      })
      .join('|');
  }

  get<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const signature = this.currentSignature();
    if (signature !== this.signature) {
      this.values.clear();
      this.signature = signature;
    }
    let value = this.values.get(key) as Promise<T> | undefined;
    if (!value) {
      if (this.values.size >= this.maxEntries) this.values.delete(this.values.keys().next().value!);
      value = compute();
      this.values.set(key, value);
      value.catch(() => this.values.delete(key));
    }
    return value;
  }
}

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** Every configured source with its rows, rejects and freshness, and the latest loads. */
export function sourcesStatus(config: ProjectConfig, loadLimit = 10): Promise<Sources> {
  return withReadOnly(config, async (wh) => {
    const hasMeta = await wh.tableExists('tagverse', 'files');
    const files = new Map<string, { files: number; rejected: number; last: string | null }>();
    const rejects = new Map<string, { kind: string; count: number }[]>();
    let loads: Sources['loads'] = [];
    if (hasMeta) {
      for (const r of await wh.objects<{ source: string; n: number; rejected: number; last: unknown }>(
        `SELECT source, count(*)::BIGINT AS n, sum(rows_rejected)::BIGINT AS rejected, max(loaded_at) AS last
         FROM ${FILES} GROUP BY source`,
      ))
        files.set(r.source, { files: r.n, rejected: Number(r.rejected ?? 0), last: iso(r.last) });
      for (const r of await wh.objects<{ source: string; kind: string; n: number }>(
        `SELECT source, kind, count(*)::BIGINT AS n FROM ${REJECTS} GROUP BY source, kind ORDER BY source, n DESC, kind`,
      ))
        rejects.set(r.source, [...(rejects.get(r.source) ?? []), { kind: r.kind, count: r.n }]);
      loads = (
        await wh.objects<{
          load_id: number;
          started_at: string;
          finished_at: string;
          sources: string[];
          files_loaded: number;
          rows_loaded: number;
          rows_rejected: number;
        }>(`SELECT * FROM ${LOADS} ORDER BY load_id DESC LIMIT ${Math.max(1, Math.floor(loadLimit))}`)
      ).map((l) => ({
        loadId: l.load_id,
        startedAt: l.started_at,
        finishedAt: l.finished_at,
        sources: l.sources,
        filesLoaded: l.files_loaded,
        rowsLoaded: l.rows_loaded,
        rowsRejected: l.rows_rejected,
      }));
    }
    const sources: Sources['sources'] = [];
    for (const [name, src] of config.sources) {
      const loaded = await wh.tableExists('raw', name);
      const f = files.get(name);
      let rows = 0;
      let first: string | null = null;
      let last: string | null = null;
      if (loaded && src.kind === 'events') {
        const [r] = await wh.objects<{ n: number; first: unknown; last: unknown }>(
          `SELECT count(*)::BIGINT AS n, min(${ident(src.timestamp.column)}) AS first, max(${ident(src.timestamp.column)}) AS last
           FROM ${qualified('raw', name)}`,
        );
        rows = Number(r?.n ?? 0);
        first = iso(r?.first);
        last = iso(r?.last);
      } else if (loaded) {
        rows = Number(await wh.scalar(`SELECT count(*) FROM ${qualified('raw', name)}`));
      }
      sources.push({
        name,
        kind: src.kind,
        ...(src.description !== undefined ? { description: src.description } : {}),
        rows,
        rejected: f?.rejected ?? 0,
        rejectsByKind: rejects.get(name) ?? [],
        files: f?.files ?? 0,
        lastLoadedAt: f?.last ?? null,
        ...(src.kind === 'events' ? { firstEventAt: first, lastEventAt: last } : {}),
      });
    }
    return { sources, loads };
  });
}

/** The latest builds, newest first. */
export function recentBuilds(config: ProjectConfig, limit = 20): Promise<Builds> {
  return withReadOnly(config, async (wh) => {
    if (!(await wh.tableExists('tags', 'builds'))) return { builds: [] };
    const rows = await wh.objects<{
      build_id: number;
      as_of: string;
      started_at: string;
      finished_at: string;
      duration_ms: number;
      tags: number;
      entities: number;
    }>(
      `SELECT build_id, as_of, started_at, finished_at, duration_ms, len(tags) AS tags, entities
       FROM ${BUILDS} ORDER BY build_id DESC LIMIT ${Math.floor(limit)}`,
    );
    return {
      builds: rows.map((b) => ({
        buildId: b.build_id,
        asOf: b.as_of,
        startedAt: b.started_at,
        finishedAt: b.finished_at,
        durationMs: Number(b.duration_ms),
        tags: Number(b.tags),
        entities: Number(b.entities),
      })),
    };
  });
}

/**
 * A tag's recorded versions (a new one each time a build met a changed definition) and its coverage
 * at every time tag history was written: entities with a value, and (booleans) where it was true.
 */
export function tagHistory(config: ProjectConfig, tag: string, type: string): Promise<TagHistory> {
  return withReadOnly(config, async (wh) => {
    const versions = (await wh.tableExists('tags', 'catalog'))
      ? (
          await wh.objects<{
            version: number;
            definition_hash: string;
            recorded_at: string;
            build_id: number;
            definition: string;
          }>(
            `SELECT version, definition_hash, recorded_at, build_id, CAST(definition AS VARCHAR) AS definition
             FROM ${CATALOG} WHERE tag = ${str(tag)} ORDER BY version`,
          )
        ).map((v) => ({
          version: v.version,
          hash: v.definition_hash,
          recordedAt: v.recorded_at,
          buildId: v.build_id,
          definition: JSON.parse(v.definition) as Record<string, unknown>,
        }))
      : [];
    const coverage: TagHistory['coverage'] = [];
    if (await wh.tableExists('tags', 'history')) {
      const rows = await wh.objects<{ at: string; entities: number; non_null: number; true_count: number }>(
        // Points: every time history changed, and every later build of the tag (which may have changed
        // nothing for it, yet says what held then).
        `WITH h AS (SELECT valid_from, valid_to, CAST(value AS VARCHAR) AS v FROM ${HISTORY} WHERE tag = ${str(tag)}),
              points AS (
                SELECT DISTINCT valid_from AS at FROM h
                UNION SELECT as_of FROM ${BUILDS}
                  WHERE list_contains(tags, ${str(tag)}) AND as_of >= (SELECT min(valid_from) FROM h))
         SELECT p.at, count(*)::BIGINT AS entities,
                count(*) FILTER (WHERE h.v IS NOT NULL AND h.v <> 'null')::BIGINT AS non_null,
                count(*) FILTER (WHERE h.v = 'true')::BIGINT AS true_count
         FROM points p JOIN h ON h.valid_from <= p.at AND (h.valid_to IS NULL OR h.valid_to > p.at)
         GROUP BY p.at ORDER BY p.at`,
      );
      for (const r of rows)
        coverage.push({
          at: r.at,
          entities: r.entities,
          nonNull: r.non_null,
          ...(type === 'boolean' ? { true: r.true_count } : {}),
        });
    }
    return { tag, versions, coverage };
  });
}

/** An entity's most recent events from one events source, with every column of the source's view. */
export function entityEvents(
  config: ProjectConfig,
  entityId: string,
  opts: { source?: string; limit?: number },
): Promise<Events> {
  const eventSources = [...config.sources.values()].filter((s): s is EventsSource => s.kind === 'events');
  const names = eventSources.map((s) => s.name);
  const src = opts.source === undefined ? eventSources[0] : eventSources.find((s) => s.name === opts.source);
  if (!src) {
    throw new ApiError(
      404,
      'events.unknown_source',
      opts.source === undefined
        ? 'the project has no events source'
        : `no events source '${opts.source}' (events sources: ${names.join(', ') || 'none'})`,
      { field: 'query.source' },
    );
  }
  return withReadOnly(config, async (wh) => {
    if (!(await wh.tableExists('main', src.name))) {
      return {
        entityId,
        source: src.name,
        sources: names,
        timeColumn: src.timestamp.column,
        columns: [],
        total: 0,
        events: [],
      };
    }
    const columns = (await wh.columns('main', src.name)).filter((c) => !c.name.startsWith('_'));
    const key = ident(src.entityKey);
    const keyType = columns.find((c) => c.name === src.entityKey)?.type ?? 'VARCHAR';
    const numericKey = /INT|DECIMAL|DOUBLE|FLOAT/.test(keyType);
    // A typed comparison keeps DuckDB's min/max pruning: no cast of the column.
    const where = !numericKey
      ? `WHERE ${key} = ${str(entityId)}`
      : /^-?\d+$/.test(entityId)
        ? `WHERE ${key} = ${entityId}`
        : 'WHERE false';
    // One scan: the entity's rows, newest first, each carrying the count of all of them.
    const rows = await wh.objects(
      `SELECT ${columns.map((c) => ident(c.name)).join(', ')}, count(*) OVER () AS "_tv_total"
       FROM ${qualified('main', src.name)} ${where}
       ORDER BY ${ident(src.timestamp.column)} DESC LIMIT ${Math.floor(opts.limit ?? 500)}`,
    );
    const total = Number(rows[0]?._tv_total ?? 0);
    const events = rows.map(({ _tv_total: _, ...event }) => event);
    return {
      entityId,
      source: src.name,
      sources: names,
      timeColumn: src.timestamp.column,
      columns,
      total,
      events,
    };
  });
}
