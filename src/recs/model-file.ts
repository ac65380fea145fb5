/**
 * Trained recommender files: `.tagverse/recs/<name>.tvrec` next to the warehouse, previous versions
 * kept as `.tagverse/recs/history/<name>.v<N>.tvrec`. Binary, so a million entities' histories and a
 * dense EASE matrix load in milliseconds:
 *
 *   "TVRECS01" | u32 header length | header JSON (utf-8) | padding to 8 | typed-array sections
 *
 * The header names each section's type, byte offset (from the start of the sections) and length.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ProjectConfig } from '../config/project.js';
import { TagverseError } from '../util/problems.js';
import type { Algorithm, FitParams, RecModel } from './algorithms.js';
import type { Csr } from './matrix.js';

export const RECS_FORMAT = 'tagverse.recs/1';
const MAGIC = 'TVRECS01';

type ArrayKind = 'f64' | 'f32' | 'u32' | 'i32';
type Typed = Float64Array | Float32Array | Uint32Array | Int32Array;
const CTORS = { f64: Float64Array, f32: Float32Array, u32: Uint32Array, i32: Int32Array } as const;
const kindOf = (a: Typed): ArrayKind =>
  a instanceof Float64Array
    ? 'f64'
    : a instanceof Float32Array
      ? 'f32'
      : a instanceof Uint32Array
        ? 'u32'
        : 'i32';

export interface RecsCard {
  readonly name: string;
  readonly version: number;
  readonly algorithm: Algorithm;
  readonly params: FitParams;
  readonly weighting: { weight: string; scale: string; halfLifeSeconds?: number };
  readonly trainedAt: string;
  /** Newest event used (ISO). */
  readonly asOf: string;
  readonly events: number;
  readonly entities: number;
  readonly items: number;
  /** Items item-kNN/EASE model (the most popular ones). */
  readonly modelledItems: number;
  readonly trainSeconds: number;
  readonly definitionHash: string;
}

/** A trained recommender: its card, dictionaries, model and every entity's history (the matrix rows). */
export interface RecsFile {
  readonly card: RecsCard;
  readonly entities: readonly string[];
  readonly items: readonly string[];
  readonly model: RecModel;
  readonly history: Csr;
}

interface Header {
  readonly format: string;
  readonly card: RecsCard;
  readonly entities: readonly string[];
  readonly items: readonly string[];
  readonly k?: number;
  readonly sections: Record<string, { kind: ArrayKind; offset: number; length: number }>;
}

export function recsDir(config: ProjectConfig): string {
  return path.join(path.dirname(config.engine.path), 'recs');
}
export function recsPath(config: ProjectConfig, name: string): string {
  return path.join(recsDir(config), `${name}.tvrec`);
}

function sectionsOf(f: RecsFile): Record<string, Typed> {
  const m = f.model;
  const s: Record<string, Typed> = {
    popularity: m.popularity,
    history_indptr: f.history.indptr,
    history_indices: f.history.indices,
    history_values: Float32Array.from(f.history.values),
  };
  if (m.algorithm === 'ease') Object.assign(s, { top: m.top, weights: m.weights });
  if (m.algorithm === 'item_knn')
    Object.assign(s, { top: m.top, neighbours: m.neighbours, similarities: m.similarities });
  return s;
}

export function encodeRecsFile(f: RecsFile): Buffer {
  const arrays = sectionsOf(f);
  const sections: Header['sections'] = {};
  let offset = 0;
  for (const [name, a] of Object.entries(arrays)) {
    sections[name] = { kind: kindOf(a), offset, length: a.length };
    offset += Math.ceil(a.byteLength / 8) * 8;
  }
  const header: Header = {
    format: RECS_FORMAT,
    card: f.card,
    entities: f.entities,
    items: f.items,
    ...(f.model.algorithm === 'item_knn' ? { k: f.model.k } : {}),
    sections,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const headLen = Math.ceil((12 + json.length) / 8) * 8;
  const out = Buffer.alloc(headLen + offset);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(json.length, 8);
  json.copy(out, 12);
  for (const [name, a] of Object.entries(arrays)) {
    const sec = sections[name]!;
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(out, headLen + sec.offset);
  }
  return out;
}

export function decodeRecsFile(buf: Buffer, display = 'recommender file'): RecsFile {
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) {
    throw new TagverseError(
      'recs.bad_file',
      `${display} is not a ${RECS_FORMAT} file; retrain it with tagverse recs train`,
    );
  }
  const len = buf.readUInt32LE(8);
  const header = JSON.parse(buf.toString('utf8', 12, 12 + len)) as Header;
  if (header.format !== RECS_FORMAT) {
    throw new TagverseError(
      'recs.bad_file',
      `${display} has format ${header.format}, expected ${RECS_FORMAT}`,
    );
  }
  const base = Math.ceil((12 + len) / 8) * 8;
  // One aligned copy of the sections, so typed arrays can view it directly.
  const body = new ArrayBuffer(buf.length - base);
  new Uint8Array(body).set(buf.subarray(base));
  const get = <K extends ArrayKind>(name: string, kind: K): InstanceType<(typeof CTORS)[K]> => {
    const s = header.sections[name];
    if (!s || s.kind !== kind) throw new TagverseError('recs.bad_file', `${display} lacks section ${name}`);
    return new CTORS[kind](body, s.offset, s.length) as InstanceType<(typeof CTORS)[K]>;
  };
  const popularity = get('popularity', 'f64');
  const algorithm = header.card.algorithm;
  const model: RecModel =
    algorithm === 'ease'
      ? { algorithm, popularity, top: get('top', 'u32'), weights: get('weights', 'f32') }
      : algorithm === 'item_knn'
        ? {
            algorithm,
            popularity,
            top: get('top', 'u32'),
            k: header.k ?? 0,
            neighbours: get('neighbours', 'i32'),
            similarities: get('similarities', 'f32'),
          }
        : { algorithm: 'popularity', popularity };
  const hv = get('history_values', 'f32');
  return {
    card: header.card,
    entities: header.entities,
    items: header.items,
    model,
    history: {
      rows: header.entities.length,
      cols: header.items.length,
      indptr: get('history_indptr', 'u32'),
      indices: get('history_indices', 'u32'),
      values: Float64Array.from(hv),
    },
  };
}

/** Write a new version; the previous one moves to history/. Returns the path written. */
export function writeRecsFile(config: ProjectConfig, f: RecsFile): string {
  const dir = recsDir(config);
  mkdirSync(path.join(dir, 'history'), { recursive: true });
  const target = recsPath(config, f.card.name);
  if (existsSync(target)) {
    const prev = readRecsFile(target);
    renameSync(target, path.join(dir, 'history', `${f.card.name}.v${prev.card.version}.tvrec`));
  }
  const tmp = `${target}.tmp`;
  writeFileSync(tmp, encodeRecsFile(f));
  renameSync(tmp, target);
  return target;
}

export function readRecsFile(file: string): RecsFile {
  return decodeRecsFile(readFileSync(file), path.basename(file));
}

/** The next version number for a recommender (1 + the highest seen, current or in history). */
export function nextRecsVersion(config: ProjectConfig, name: string): number {
  const dir = recsDir(config);
  let v = 0;
  if (existsSync(recsPath(config, name))) v = readRecsFile(recsPath(config, name)).card.version;
  const hist = path.join(dir, 'history');
  if (existsSync(hist)) {
    for (const f of readdirSync(hist)) {
      const m = new RegExp(`^${name}\\.v(\\d+)\\.tvrec$`).exec(f);
      if (m) v = Math.max(v, Number(m[1]));
    }
  }
  return v + 1;
}
