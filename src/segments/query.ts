/**
 * `tagverse segment`: evaluate an expression (or a saved segment) on the project's latest build, count
 * it, optionally export its members to CSV or JSONL, optionally save it. Uses the same store and
 * evaluator as the server (the snapshot when it is current).
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { type ProjectConfig, requireProject } from '../config/project.js';
import { openStore } from '../online/store-holder.js';
import { TagverseError } from '../util/problems.js';
import { getSavedSegment, type SavedSegment, saveSegment } from './saved.js';
import {
  DEFAULT_SEGMENT_LIMITS,
  type ExportFormat,
  exportMembers,
  runSegment,
  type SegmentPreview,
} from './segment.js';

export interface SegmentQueryOptions {
  /** Use this saved segment instead of an expression. */
  readonly saved?: string;
  /** Write the members here (.csv or .jsonl). */
  readonly exportFile?: string;
  /** Save the expression under this name. */
  readonly saveAs?: string;
  readonly description?: string;
  /** Ids in the sample (default 10). */
  readonly sample?: number;
}

export interface SegmentQueryResult extends SegmentPreview {
  readonly saved?: SavedSegment;
  readonly exported?: { readonly file: string; readonly format: ExportFormat; readonly rows: number };
}

export function exportFormatOf(file: string): ExportFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new TagverseError(
    'segment.bad_export',
    `cannot tell the export format of '${file}': use a .csv or .jsonl file`,
  );
}

/**
 * @example
 *   const r = await querySegment('./world', 'golf_lover and spend_90d > 1000', { exportFile: 'golfers.csv' });
 *   console.log(r.count, r.exported?.rows);
 */
export async function querySegment(
  project: ProjectConfig | string,
  expression: string | undefined,
  opts: SegmentQueryOptions = {},
): Promise<SegmentQueryResult> {
  const config = typeof project === 'string' ? requireProject(project) : project;
  const text = opts.saved !== undefined ? getSavedSegment(config, opts.saved).expression : expression;
  if (text === undefined) throw new TagverseError('segment.empty', 'give an expression or --saved NAME');
  const format = opts.exportFile !== undefined ? exportFormatOf(opts.exportFile) : undefined;
  const { store } = await openStore(config);
  const limits = {
    ...DEFAULT_SEGMENT_LIMITS,
    maxExpressionLength: config.api.limits.maxExpressionLength,
    maxDepth: config.api.limits.maxExpressionDepth,
    timeoutMs: 10 * 60_000,
  };
  const r = await runSegment(config, store, text, limits);
  let exported: SegmentQueryResult['exported'];
  if (opts.exportFile !== undefined && format !== undefined) {
    const out = createWriteStream(opts.exportFile);
    for (const chunk of exportMembers(store, r.members, format)) {
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    exported = { file: path.resolve(opts.exportFile), format, rows: r.members.size };
  }
  const saved =
    opts.saveAs !== undefined
      ? saveSegment(config, {
          name: opts.saveAs,
          expression: text,
          ...(opts.description !== undefined ? { description: opts.description } : {}),
        }).segment
      : undefined;
  return {
    expression: text,
    count: r.members.size,
    total: store.size,
    share: store.size === 0 ? 0 : r.members.size / store.size,
    sample: [...r.members.rangeUint32Array(0, opts.sample ?? 10)].map((o) => store.ids[o]!),
    elapsedMs: Math.round(r.elapsedMs * 1000) / 1000,
    buildId: store.info.buildId,
    ...(saved ? { saved } : {}),
    ...(exported ? { exported } : {}),
  };
}
