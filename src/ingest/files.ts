/**
 * Which files a source reads, and their fingerprints (size, mtime and a SHA-256 of the content),
 * which make re-running an ingest on the same files a no-op.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { formatFromPath } from '../config/project.js';
import type { FileFormat } from '../config/schema.js';
import { TagverseError } from '../util/problems.js';

export interface SourceFile {
  /** Absolute path. */
  readonly path: string;
  /** Path as shown to users and stored: relative to the project when inside it. */
  readonly display: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly format: FileFormat;
}

/** Expand a source's file patterns (relative to `projectDir`) into files, sorted by path. */
export async function resolveFiles(
  projectDir: string,
  sourceName: string,
  patterns: readonly string[],
  format: FileFormat | undefined,
): Promise<SourceFile[]> {
  const seen = new Set<string>();
  const files: SourceFile[] = [];
  for (const pattern of patterns) {
    const abs = path.resolve(projectDir, pattern);
    let matches: string[];
    if (isDynamicPattern(pattern)) {
      matches = (
        await glob(pattern, { cwd: projectDir, absolute: true, onlyFiles: true, dot: false })
      ).sort();
    } else {
      matches = [abs];
    }
    if (matches.length === 0) {
      throw new TagverseError('ingest.no_files', `source '${sourceName}': '${pattern}' matches no file`);
    }
    for (const file of matches) {
      if (seen.has(file)) continue;
      seen.add(file);
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(file);
      } catch {
        throw new TagverseError(
          'ingest.missing_file',
          `source '${sourceName}': file not found: ${displayPath(projectDir, file)}`,
        );
      }
      if (!st.isFile()) {
        throw new TagverseError(
          'ingest.not_a_file',
          `source '${sourceName}': not a file: ${displayPath(projectDir, file)}`,
        );
      }
      const fmt = format ?? formatFromPath(file);
      if (!fmt) {
        throw new TagverseError(
          'ingest.unknown_format',
          `source '${sourceName}': cannot tell the format of ${displayPath(projectDir, file)}; set 'format'`,
        );
      }
      files.push({
        path: file,
        display: displayPath(projectDir, file),
        size: st.size,
        mtimeMs: st.mtimeMs,
        format: fmt,
      });
    }
  }
  return files;
}

export function displayPath(projectDir: string, file: string): string {
  const rel = path.relative(projectDir, file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel.split(path.sep).join('/');
}

/** SHA-256 of a file's bytes, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
