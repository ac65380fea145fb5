/**
 * `tagverse check`: everything that can be wrong with a project before ingesting it, all at once.
 * Config shape and references (project.ts), then the files: do the globs match, can DuckDB read the
 * first file of each source, do the columns the config names exist in it.
 */

import { loadProgram } from '../engine/program.js';
import { normalizeColumnName } from '../ingest/column-plan.js';
import { resolveFiles, type SourceFile } from '../ingest/files.js';
import { describeToColumns, sniffSql } from '../ingest/readers.js';
import { didYouMeanSuffix } from '../util/did-you-mean.js';
import { type Problem, sortProblems, TagverseError } from '../util/problems.js';
import type { YamlFile } from '../util/yaml-locator.js';
import { Warehouse } from '../warehouse/warehouse.js';
import { loadProject, type ProjectConfig, type SourceConfig } from './project.js';

export interface CheckResult {
  readonly ok: boolean;
  readonly problems: readonly Problem[];
  /** Files found per source (only when the config itself is valid). */
  readonly files: Readonly<Record<string, number>>;
  /** Tags checked without errors, and tag files read. */
  readonly tags: number;
  readonly tagFiles: number;
}

/**
 * Validate a project folder: config, file presence, column references.
 * @example
 *   const { ok, problems } = await checkProject('./my-project');
 */
export async function checkProject(dir: string): Promise<CheckResult> {
  const { config, problems, yaml } = loadProject(dir);
  if (!config || !yaml)
    return { ok: false, problems: sortProblems(problems), files: {}, tags: 0, tagFiles: 0 };
  const all: Problem[] = [...problems];
  const files: Record<string, number> = {};
  const columnsBySource = new Map<string, string[]>();
  const wh = await Warehouse.open(':memory:');
  try {
    for (const src of config.sources.values()) {
      let found: SourceFile[];
      try {
        found = await resolveFiles(config.dir, src.name, src.files, src.format);
      } catch (e) {
        all.push(
          yaml.problem(['sources', src.name, 'files'], e instanceof TagverseError ? e.message : String(e)),
        );
        continue;
      }
      files[src.name] = found.length;
      const first = found[0];
      if (!first) continue;
      try {
        const cols = describeToColumns(await wh.jsonRows(sniffSql(first, src)));
        columnsBySource.set(
          src.name,
          checkColumns(
            src,
            cols.map((c) => c.name),
            first.display,
            yaml,
            all,
          ),
        );
      } catch (e) {
        const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
        all.push(yaml.problem(['sources', src.name, 'files'], `cannot read ${first.display}: ${msg}`));
      }
    }
  } finally {
    wh.close();
  }
  checkLookups(config, columnsBySource, yaml, all);
  const tags = await loadProgram(config);
  all.push(...tags.problems);
  const sorted = sortProblems(all);
  return {
    ok: !sorted.some((p) => p.severity === 'error'),
    problems: sorted,
    files,
    tags: tags.program?.tags.length ?? 0,
    tagFiles: tags.files.length,
  };
}

/** Check the columns a source's config names against a file's header; returns the resulting column names. */
function checkColumns(
  src: SourceConfig,
  fileColumns: readonly string[],
  fileLabel: string,
  yaml: YamlFile,
  out: Problem[],
): string[] {
  const at = (...p: (string | number)[]) => ['sources', src.name, ...p];
  const names: string[] = [];
  const listedFrom = new Set<string>();
  for (const c of src.columns) {
    listedFrom.add(c.from);
    if (!fileColumns.includes(c.from)) {
      const where = c.from === c.name ? at('columns', c.name) : at('columns', c.name, 'from');
      out.push(
        yaml.problem(
          where,
          `${fileLabel} has no column '${c.from}'${didYouMeanSuffix(c.from, fileColumns)}`,
          { key: c.from === c.name },
        ),
      );
    }
    names.push(c.name);
  }
  for (const [i, x] of src.excludeColumns.entries()) {
    if (!fileColumns.includes(x)) {
      out.push(
        yaml.problem(
          at('exclude_columns', i),
          `${fileLabel} has no column '${x}'${didYouMeanSuffix(x, fileColumns)}`,
        ),
      );
    }
  }
  if (src.keepUnlistedColumns) {
    for (const f of fileColumns) {
      if (!listedFrom.has(f) && !src.excludeColumns.includes(f)) names.push(normalizeColumnName(f));
    }
  }
  const refs: [string | undefined, (string | number)[], string][] =
    src.kind === 'events'
      ? [
          [src.entityKey, at('entity_key'), 'entity key'],
          [src.timestamp.column, at('timestamp', 'column'), 'timestamp column'],
          [src.eventId, at('event_id'), 'event id column'],
        ]
      : src.kind === 'profile'
        ? [[src.entityKey, at('entity_key'), 'entity key']]
        : [[src.key, at('key'), 'key']];
  for (const [name, where, what] of refs) {
    if (name === undefined || names.includes(name)) continue;
    if (!src.keepUnlistedColumns && fileColumns.map(normalizeColumnName).includes(name)) {
      names.push(name);
      continue;
    }
    const fix = fileColumns.includes(name)
      ? ` (the file column '${name}' is available as '${normalizeColumnName(name)}')`
      : '';
    out.push(
      yaml.problem(
        where,
        `the ${what} '${name}' is not a column of ${fileLabel}${fix || didYouMeanSuffix(name, names)}`,
      ),
    );
  }
  return names;
}

function checkLookups(
  config: ProjectConfig,
  columnsBySource: ReadonlyMap<string, string[]>,
  yaml: YamlFile,
  out: Problem[],
): void {
  for (const src of config.sources.values()) {
    if (src.kind === 'lookup') continue;
    const own = columnsBySource.get(src.name);
    if (!own) continue;
    const taken = new Set(own);
    for (const [i, lk] of src.lookups.entries()) {
      const at = (...p: (string | number)[]) => ['sources', src.name, 'lookups', i, ...p];
      if (!own.includes(lk.on)) {
        out.push(
          yaml.problem(
            at('on'),
            `'${lk.on}' is not a column of source '${src.name}'${didYouMeanSuffix(lk.on, own)}`,
          ),
        );
      }
      const lkSrc = config.sources.get(lk.source);
      const lkCols = columnsBySource.get(lk.source);
      if (lkSrc?.kind !== 'lookup' || !lkCols) continue;
      const available = lkCols.filter((c) => c !== lkSrc.key);
      for (const [j, c] of (lk.columns ?? available).entries()) {
        if (!available.includes(c)) {
          out.push(
            yaml.problem(
              lk.columns ? at('columns', j) : at('source'),
              `lookup '${lk.source}' has no column '${c}'${didYouMeanSuffix(c, available)}`,
            ),
          );
          continue;
        }
        const outName = `${lk.prefix}${c}`;
        if (taken.has(outName)) {
          out.push(
            yaml.problem(
              lk.columns ? at('columns', j) : at('source'),
              `lookup column '${c}' clashes with the column '${outName}' of source '${src.name}'; set 'prefix' or list 'columns'`,
            ),
          );
        }
        taken.add(outName);
      }
    }
  }
}
