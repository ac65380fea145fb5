/**
 * Saved segments: `segments/<name>.yaml` in the project, one segment per file (a file may also hold a
 * YAML list of segments; those are read-only through the API). Written atomically (temporary file,
 * then rename), so a reader never sees half a file.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import type { ProjectConfig } from '../config/project.js';
import { IDENTIFIER } from '../config/schema.js';
import { didYouMeanSuffix } from '../util/did-you-mean.js';
import { TagverseError } from '../util/problems.js';

export const SEGMENTS_DIR = 'segments';

export const SegmentNameSchema = z
  .string()
  .regex(IDENTIFIER, "a segment name is lower_snake_case: a letter, then letters, digits or '_' (max 63)");

export const SavedSegmentFileSchema = z.strictObject({
  name: SegmentNameSchema,
  expression: z.string().min(1),
  description: z.string().optional(),
  owner: z.string().optional(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
});

export interface SavedSegment {
  readonly name: string;
  readonly expression: string;
  readonly description?: string;
  readonly owner?: string;
  readonly createdAt?: string;
  readonly updatedAt?: string;
  /** The file it is defined in, relative to the project. */
  readonly file: string;
}

export interface SavedSegments {
  readonly segments: readonly SavedSegment[];
  /** Files that could not be read, as `file: message`. */
  readonly problems: readonly string[];
}

export function segmentsDir(config: ProjectConfig): string {
  return path.join(config.dir, SEGMENTS_DIR);
}

/** Every saved segment of the project, by name. */
export function listSavedSegments(config: ProjectConfig): SavedSegments {
  const dir = segmentsDir(config);
  if (!existsSync(dir)) return { segments: [], problems: [] };
  const segments: SavedSegment[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const f of readdirSync(dir).sort()) {
    if (!/\.ya?ml$/.test(f)) continue;
    const rel = path.join(SEGMENTS_DIR, f);
    let data: unknown;
    try {
      data = YAML.parse(readFileSync(path.join(dir, f), 'utf8'));
    } catch (e) {
      problems.push(`${rel}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      continue;
    }
    for (const item of Array.isArray(data) ? data : [data]) {
      const r = SavedSegmentFileSchema.safeParse(item);
      if (!r.success) {
        problems.push(
          `${rel}: ${r.error.issues.map((i) => `${i.path.join('.') || 'segment'}: ${i.message}`).join('; ')}`,
        );
        continue;
      }
      if (seen.has(r.data.name)) {
        problems.push(`${rel}: segment '${r.data.name}' is defined twice`);
        continue;
      }
      seen.add(r.data.name);
      segments.push({
        name: r.data.name,
        expression: r.data.expression,
        ...(r.data.description !== undefined ? { description: r.data.description } : {}),
        ...(r.data.owner !== undefined ? { owner: r.data.owner } : {}),
        ...(r.data.created_at !== undefined ? { createdAt: r.data.created_at } : {}),
        ...(r.data.updated_at !== undefined ? { updatedAt: r.data.updated_at } : {}),
        file: rel,
      });
    }
  }
  segments.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { segments, problems };
}

export function getSavedSegment(config: ProjectConfig, name: string): SavedSegment {
  const all = listSavedSegments(config).segments;
  const s = all.find((x) => x.name === name);
  if (!s) {
    throw new TagverseError(
      'segments.not_found',
      `no saved segment '${name}'${didYouMeanSuffix(
        name,
        all.map((x) => x.name),
      )}`,
    );
  }
  return s;
}

export interface SaveSegmentInput {
  readonly name: string;
  readonly expression: string;
  readonly description?: string;
  readonly owner?: string;
}

/** Create or replace `segments/<name>.yaml`; returns the segment as saved and whether it was new. */
export function saveSegment(
  config: ProjectConfig,
  input: SaveSegmentInput,
  now: () => Date = () => new Date(),
): { segment: SavedSegment; created: boolean } {
  SegmentNameSchema.parse(input.name);
  const existing = listSavedSegments(config).segments.find((s) => s.name === input.name);
  const rel = path.join(SEGMENTS_DIR, `${input.name}.yaml`);
  if (existing && existing.file !== rel) {
    throw new TagverseError(
      'segments.read_only',
      `segment '${input.name}' is defined in ${existing.file}, which holds several segments; edit that file instead`,
    );
  }
  const stamp = now().toISOString();
  const doc = {
    name: input.name,
    expression: input.expression,
    ...(input.description !== undefined ? { description: input.description } : {}),
    ...(input.owner !== undefined ? { owner: input.owner } : {}),
    created_at: existing?.createdAt ?? stamp,
    updated_at: stamp,
  };
  const dir = segmentsDir(config);
  mkdirSync(dir, { recursive: true });
  const file = path.join(config.dir, rel);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, YAML.stringify(doc));
  renameSync(tmp, file);
  return {
    segment: {
      name: doc.name,
      expression: doc.expression,
      ...(doc.description !== undefined ? { description: doc.description } : {}),
      ...(doc.owner !== undefined ? { owner: doc.owner } : {}),
      createdAt: doc.created_at,
      updatedAt: doc.updated_at,
      file: rel,
    },
    created: existing === undefined,
  };
}

/** Delete `segments/<name>.yaml`. */
export function deleteSegment(config: ProjectConfig, name: string): void {
  const s = getSavedSegment(config, name);
  if (s.file !== path.join(SEGMENTS_DIR, `${name}.yaml`)) {
    throw new TagverseError(
      'segments.read_only',
      `segment '${name}' is defined in ${s.file}, which holds several segments; edit that file instead`,
    );
  }
  rmSync(path.join(config.dir, s.file));
}
