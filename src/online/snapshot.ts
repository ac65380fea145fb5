/**
 * Snapshot files of the online store, for a restart in seconds instead of a reload from the warehouse.
 *
 * Layout: `TVSNAP01` (8 bytes), the header's offset (f64 LE) and length (u32 LE, 4 bytes padding),
 * then the sections, each starting at a multiple of 8, and the header (UTF-8 JSON) last. The header describes the store (info, tag
 * program, schemas, coverage, dictionaries) and where each typed array or bitmap set lives. Reading
 * allocates each typed array once and reads its bytes straight into it (no intermediate copy of the
 * file). Files are written to a temporary name and renamed, so a reader never sees half a snapshot.
 */
import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { TagCoverage } from '../engine/build.js';
import type { TagProgram } from '../lang/ir.js';
import { TagverseError } from '../util/problems.js';
import { type Bitmap, deserializeBitmap, serializeBitmap } from './bitmap.js';
import { type Column, type NumericValueType, packedList } from './columns.js';
import { type SchemaJson, type StoreInfo, schemasFromJson, schemasToJson, TagStore } from './store.js';

const MAGIC = 'TVSNAP01';
const FORMAT_VERSION = 1;
/** Bytes before the first section: magic, header offset, header length, padding. */
const PREFIX = 24;

type ArrayKind = 'u8' | 'u32' | 'i32' | 'f64' | 'bytes';
interface SectionRef {
  readonly offset: number;
  readonly bytes: number;
  readonly kind: ArrayKind;
}

type ColumnJson =
  | { kind: 'boolean'; values: SectionRef; trueSet: SectionRef; falseSet: SectionRef }
  | {
      kind: 'number';
      valueType: NumericValueType;
      values: SectionRef;
      nonNull: SectionRef;
      sorted: SectionRef;
      buckets: BitmapsRef;
    }
  | { kind: 'string'; dict: string[]; codes: SectionRef; sets: BitmapsRef; nonNull: SectionRef }
  | {
      kind: 'list';
      dict: string[];
      offsets: SectionRef;
      items: SectionRef;
      scores: SectionRef;
      sets: BitmapsRef;
      nonNull: SectionRef;
    };

/** Several serialized bitmaps back to back, with their end offsets. */
interface BitmapsRef {
  readonly data: SectionRef;
  readonly ends: SectionRef;
}

interface Header {
  readonly format: number;
  /** Identity of the build the store holds (see `buildKey`). */
  readonly key: string;
  readonly info: StoreInfo;
  readonly program: TagProgram;
  readonly schemas: SchemaJson[];
  readonly categories: readonly string[];
  readonly coverage: readonly TagCoverage[];
  readonly entities: number;
  readonly ids: SectionRef;
  readonly columns: { key: string; target: 'tag' | 'profile'; column: ColumnJson }[];
}

/** Where a project's snapshot lives: beside the warehouse, under `online/`. */
export function snapshotPath(warehouseFile: string): string {
  return path.join(path.dirname(warehouseFile), 'online', 'store.snapshot');
}

class SectionWriter {
  private offset: number;
  constructor(
    private readonly fd: number,
    start: number,
  ) {
    this.offset = start;
  }
  write(data: ArrayBufferView, kind: ArrayKind): SectionRef {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const ref = { offset: this.offset, bytes: bytes.byteLength, kind };
    let written = 0;
    while (written < bytes.byteLength) {
      written += writeSync(this.fd, bytes, written, bytes.byteLength - written, this.offset + written);
    }
    this.offset += bytes.byteLength;
    const pad = (8 - (this.offset % 8)) % 8;
    if (pad > 0) {
      writeSync(this.fd, new Uint8Array(pad), 0, pad, this.offset);
      this.offset += pad;
    }
    return ref;
  }
  bitmap(b: Bitmap): SectionRef {
    return this.write(serializeBitmap(b), 'bytes');
  }
  bitmaps(list: readonly Bitmap[]): BitmapsRef {
    const parts = list.map(serializeBitmap);
    const ends = new Uint32Array(parts.length);
    let total = 0;
    parts.forEach((p, i) => {
      total += p.byteLength;
      ends[i] = total;
    });
    return { data: this.write(Buffer.concat(parts), 'bytes'), ends: this.write(ends, 'u32') };
  }
}

function columnJson(w: SectionWriter, col: Column): ColumnJson {
  switch (col.kind) {
    case 'boolean':
      return {
        kind: 'boolean',
        values: w.write(col.values, 'u8'),
        trueSet: w.bitmap(col.trueSet),
        falseSet: w.bitmap(col.falseSet),
      };
    case 'number':
      return {
        kind: 'number',
        valueType: col.valueType,
        values: w.write(col.values, 'f64'),
        nonNull: w.bitmap(col.nonNull),
        sorted: w.write(col.sorted, 'u32'),
        buckets: w.bitmaps(col.buckets),
      };
    case 'string':
      return {
        kind: 'string',
        dict: [...col.dict],
        codes: w.write(col.codes, 'i32'),
        sets: w.bitmaps(col.sets),
        nonNull: w.bitmap(col.nonNull),
      };
    case 'list': {
      const packed = packedList(col);
      return {
        kind: 'list',
        dict: [...col.dict],
        offsets: w.write(packed.offsets, 'u32'),
        items: w.write(packed.items, 'u32'),
        scores: w.write(packed.scores, 'f64'),
        sets: w.bitmaps(col.sets),
        nonNull: w.bitmap(col.nonNull),
      };
    }
  }
}

/** Each entity's start and end in a packed list (separate arrays: real time writes them apart). */
function startsAndEnds(offsets: Uint32Array): { starts: Uint32Array; ends: Uint32Array } {
  const n = Math.max(0, offsets.length - 1);
  return { starts: offsets.slice(0, n), ends: offsets.slice(1, n + 1) };
}

/**
 * Write `store` to `file` (atomically: a temporary file renamed into place).
 * Sections go first (their offsets are known as they are written); the header goes last, at the end,
 * and the fixed prefix points at it.
 */
export function writeSnapshot(store: TagStore, key: string, file: string): void {
  if (store.ids.some((id) => id.includes('\0'))) {
    throw new TagverseError(
      'snapshot.unsupported_id',
      'an entity id contains a NUL character; no snapshot written',
    );
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    const w = new SectionWriter(fd, PREFIX);
    const idText = store.ids.join('\0');
    const ids = w.write(Buffer.from(idText, 'utf8'), 'bytes');
    const columns: Header['columns'] = [];
    for (const [k, col] of store.tags) columns.push({ key: k, target: 'tag', column: columnJson(w, col) });
    for (const [k, col] of store.profiles)
      columns.push({ key: k, target: 'profile', column: columnJson(w, col) });
    const header: Header = {
      format: FORMAT_VERSION,
      key,
      info: store.info,
      program: store.program,
      schemas: schemasToJson(store.schemas),
      categories: store.categories,
      coverage: store.coverage,
      entities: store.size,
      ids,
      columns,
    };
    const headerRef = w.write(Buffer.from(JSON.stringify(header), 'utf8'), 'bytes');
    const prefix = Buffer.alloc(PREFIX);
    prefix.write(MAGIC, 0, 'latin1');
    prefix.writeDoubleLE(headerRef.offset, 8);
    prefix.writeUInt32LE(headerRef.bytes, 16);
    writeSync(fd, prefix, 0, PREFIX, 0);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, file);
}

function readHeader(fd: number, file: string): Header {
  const prefix = Buffer.alloc(PREFIX);
  readSync(fd, prefix, 0, PREFIX, 0);
  if (prefix.toString('latin1', 0, 8) !== MAGIC) {
    throw new TagverseError('snapshot.invalid', `${file} is not a Tagverse store snapshot`);
  }
  const offset = prefix.readDoubleLE(8);
  const bytes = prefix.readUInt32LE(16);
  const buf = Buffer.alloc(bytes);
  readExactly(fd, buf, offset);
  const header = JSON.parse(buf.toString('utf8')) as Header;
  if (header.format !== FORMAT_VERSION) {
    throw new TagverseError(
      'snapshot.invalid',
      `${file} has snapshot format ${header.format}, expected ${FORMAT_VERSION}`,
    );
  }
  return header;
}

function readExactly(fd: number, target: Uint8Array, position: number): void {
  let done = 0;
  while (done < target.byteLength) {
    const n = readSync(fd, target, done, target.byteLength - done, position + done);
    if (n === 0) throw new TagverseError('snapshot.invalid', 'snapshot file is truncated');
    done += n;
  }
}

/** The build key a snapshot holds, without reading the rest (undefined: no readable snapshot). */
export function snapshotKey(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    return readHeader(fd, file).key;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Read a snapshot back into a store.
 * @example
 *   const store = readSnapshot(snapshotPath(config.engine.path));
 */
export function readSnapshot(file: string): { store: TagStore; key: string } {
  const started = Date.now();
  const fd = openSync(file, 'r');
  try {
    const h = readHeader(fd, file);
    const raw = (ref: SectionRef): Uint8Array => {
      const out = new Uint8Array(ref.bytes);
      readExactly(fd, out, ref.offset);
      return out;
    };
    const u8 = (ref: SectionRef) => raw(ref);
    const u32 = (ref: SectionRef) => new Uint32Array(raw(ref).buffer);
    const i32 = (ref: SectionRef) => new Int32Array(raw(ref).buffer);
    const f64 = (ref: SectionRef) => new Float64Array(raw(ref).buffer);
    const bitmap = (ref: SectionRef) => deserializeBitmap(raw(ref));
    const bitmaps = (ref: BitmapsRef) => {
      const data = raw(ref.data);
      const ends = u32(ref.ends);
      const out: Bitmap[] = [];
      let start = 0;
      for (const end of ends) {
        out.push(deserializeBitmap(data.subarray(start, end)));
        start = end;
      }
      return out;
    };
    const column = (c: ColumnJson): Column => {
      switch (c.kind) {
        case 'boolean':
          return {
            kind: 'boolean',
            valueType: 'boolean',
            values: u8(c.values),
            trueSet: bitmap(c.trueSet),
            falseSet: bitmap(c.falseSet),
          };
        case 'number':
          return {
            kind: 'number',
            valueType: c.valueType,
            values: f64(c.values),
            nonNull: bitmap(c.nonNull),
            sorted: u32(c.sorted),
            buckets: bitmaps(c.buckets),
          };
        case 'string':
          return {
            kind: 'string',
            valueType: 'string',
            dict: c.dict,
            codeOf: new Map(c.dict.map((v, i) => [v, i])),
            codes: i32(c.codes),
            sets: bitmaps(c.sets),
            nonNull: bitmap(c.nonNull),
          };
        case 'list':
          return {
            kind: 'list',
            valueType: 'list',
            dict: c.dict,
            codeOf: new Map(c.dict.map((v, i) => [v, i])),
            ...startsAndEnds(u32(c.offsets)),
            items: u32(c.items),
            scores: f64(c.scores),
            sets: bitmaps(c.sets),
            nonNull: bitmap(c.nonNull),
          };
      }
    };
    const idText = Buffer.from(raw(h.ids)).toString('utf8');
    const ids = h.entities === 0 ? [] : idText.split('\0');
    if (ids.length !== h.entities)
      throw new TagverseError('snapshot.invalid', `${file}: entity ids do not match the header`);
    const tags = new Map<string, Column>();
    const profiles = new Map<string, Column>();
    for (const c of h.columns) (c.target === 'tag' ? tags : profiles).set(c.key, column(c.column));
    const store = new TagStore({
      ids,
      tags,
      profiles,
      program: h.program,
      schemas: schemasFromJson(h.schemas),
      categories: h.categories,
      coverage: h.coverage,
      info: {
        ...h.info,
        loadedFrom: 'snapshot',
        loadedAt: new Date().toISOString(),
        loadMs: Date.now() - started,
      },
    });
    return { store, key: h.key };
  } finally {
    closeSync(fd);
  }
}
