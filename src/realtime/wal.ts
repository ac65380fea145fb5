/**
 * The write-ahead log: accepted messages are appended to files under `.tagverse/wal/` and fsynced
 * before anyone is told they are accepted.
 *
 * Group commit: appends made while a write+fsync is running wait for the next one, which takes all
 * of them at once, so one fsync acknowledges many requests and throughput does not depend on the
 * disk's sync latency (each sync costs ~5 ms here).
 *
 * Records are numbered (seq); one append is one frame holding one or more records (a request's
 * messages) as a JSON array, so a request is on disk entirely or not at all. Files are
 * `wal-<first seq>.log`, a sequence of frames `[u32 length][u32 crc32][f64 last seq][payload]` (little
 * endian; the CRC covers the seq and the payload). A file is closed and a new one started after `segmentBytes`. On open
 * every frame is read back and checked: a torn frame at the end of the last file (a crash in the
 * middle of a write, never acknowledged) is cut off; a bad frame anywhere else is corruption and
 * stops the start with an error naming the file and offset.
 *
 * The log is trimmed by whole files once their records are safely in the warehouse (`trimThrough`).
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
} from 'node:fs';
import { type FileHandle, open as openAsync } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { TagverseError } from '../util/problems.js';

const HEADER = 16;
const FILE = /^wal-(\d{16})\.log$/;
/**
 * Records serialised per `JSON.stringify`. A request's 500 messages as one string (~200 KB) would be
 * a large object for V8 (over 128 KB): each costs fresh pages, unmapped at the next collection, ~100x
 * the cost per byte of a small string (and its `Buffer.from` another such allocation). Slices of 64
 * stay around 25 KB and are encoded into reused slabs.
 */
const RECORDS_PER_SLICE = 64;
const SLAB_BYTES = 1 << 20;
/** Slabs kept for reuse once their group is on disk. */
const FREE_SLABS = 3;
const COMMA = 0x2c;
const encoder = new TextEncoder();

export interface WalOptions {
  /** Start a new file once the current one is this large (bytes). */
  readonly segmentBytes?: number;
  /** fsync after each group (default true; tests of throughput without durability turn it off). */
  readonly fsync?: boolean;
}

export interface WalFile {
  readonly file: string;
  readonly firstSeq: number;
  lastSeq: number;
  bytes: number;
}

function fileName(firstSeq: number): string {
  return `wal-${String(firstSeq).padStart(16, '0')}.log`;
}

/** One frame read back: the last seq it holds and its payload. */
export interface Frame {
  readonly lastSeq: number;
  readonly payload: Buffer;
}

/**
 * The header of a frame holding records up to `lastSeq`, whose payload is `parts` in order: written
 * before them, which are not copied (the CRC runs over the seq, then on over each part).
 */
export function frameHeader(lastSeq: number, parts: readonly Uint8Array[]): Buffer {
  const h = Buffer.allocUnsafe(HEADER);
  h.writeDoubleLE(lastSeq, 8);
  let length = 0;
  let sum = crc32(h.subarray(8));
  for (const p of parts) {
    length += p.length;
    sum = crc32(p, sum);
  }
  h.writeUInt32LE(length, 0);
  h.writeUInt32LE(sum, 4);
  return h;
}

/** Read the frames of one file, and the offset where valid data ends. */
export function readFrames(bytes: Buffer): { frames: Frame[]; validEnd: number } {
  const frames: Frame[] = [];
  let off = 0;
  while (off + HEADER <= bytes.length) {
    const len = bytes.readUInt32LE(off);
    const sum = bytes.readUInt32LE(off + 4);
    if (off + HEADER + len > bytes.length) break;
    if (crc32(bytes.subarray(off + 8, off + HEADER + len)) !== sum) break;
    frames.push({
      lastSeq: bytes.readDoubleLE(off + 8),
      payload: bytes.subarray(off + HEADER, off + HEADER + len),
    });
    off += HEADER + len;
  }
  return { frames, validEnd: off };
}

interface Pending {
  readonly header: Buffer;
  /** The payload, in pieces of the queue's slabs. */
  readonly parts: readonly Buffer[];
  readonly seq: number;
}

export class WriteAheadLog {
  private handle: FileHandle | undefined;
  private current: WalFile | undefined;
  private queue: Pending[] = [];
  private waiters: { seq: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private writing = false;
  /** The slab being filled, how much of it is used, the slabs the queued frames live in, spare ones. */
  private slab: Buffer | undefined;
  private slabUsed = 0;
  private queueSlabs: Buffer[] = [];
  private readonly freeSlabs: Buffer[] = [];
  private failed: unknown;
  private closed = false;
  /** Highest seq handed out, and highest seq on disk (fsynced). */
  private nextSeq: number;
  private durableSeq: number;
  private readonly segmentBytes: number;
  private readonly sync: boolean;
  /** Groups written and their sizes, for metrics. */
  groups = 0;
  bytesWritten = 0;

  private constructor(
    readonly dir: string,
    readonly files: WalFile[],
    lastSeq: number,
    opts: WalOptions,
  ) {
    this.nextSeq = lastSeq + 1;
    this.durableSeq = lastSeq;
    this.segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
    this.sync = opts.fsync ?? true;
  }

  /**
   * Open the log in `dir` and read back every record in it, in order (the caller replays them).
   * `afterSeq` is where numbering continues when the folder is empty (the last seq the warehouse has).
   */
  static async open(
    dir: string,
    afterSeq: number,
    opts: WalOptions = {},
  ): Promise<{ wal: WriteAheadLog; frames: Frame[] }> {
    mkdirSync(dir, { recursive: true });
    const names = readdirSync(dir)
      .filter((f) => FILE.test(f))
      .sort();
    const files: WalFile[] = [];
    const all: Frame[] = [];
    let lastSeq = afterSeq;
    for (const [i, name] of names.entries()) {
      const file = path.join(dir, name);
      const bytes = readFileSync(file);
      const { frames, validEnd } = readFrames(bytes);
      if (validEnd < bytes.length) {
        if (i !== names.length - 1) {
          throw new TagverseError(
            'realtime.wal_corrupt',
            `the write-ahead log ${file} is damaged at byte ${validEnd} (not its end): move it away to start without it`,
          );
        }
        // A torn write at the end: it was never acknowledged. Cut it off durably.
        truncateSync(file, validEnd);
        const fd = openSync(file, 'r+');
        fsyncSync(fd);
        closeSync(fd);
      }
      const firstSeq = Number(FILE.exec(name)![1]);
      const wf: WalFile = { file, firstSeq, lastSeq: firstSeq - 1, bytes: validEnd };
      for (const f of frames) {
        all.push(f);
        wf.lastSeq = f.lastSeq;
      }
      lastSeq = Math.max(lastSeq, wf.lastSeq);
      files.push(wf);
    }
    return { wal: new WriteAheadLog(dir, files, lastSeq, opts), frames: all };
  }

  /** The seq the next append gets. */
  peekSeq(): number {
    return this.nextSeq;
  }

  /** Highest seq known to be on disk. */
  get durable(): number {
    return this.durableSeq;
  }

  /**
   * Append `records` as one frame (a JSON array; the first gets the next seq, the others follow).
   * Returns the first seq at once; `committed` resolves when the frame is fsynced (or rejects when
   * writing failed: nothing of it may be acknowledged).
   */
  append(records: readonly unknown[]): { first: number; committed: Promise<void> } {
    if (this.closed) throw new TagverseError('realtime.closed', 'the write-ahead log is closed');
    if (this.failed)
      throw new TagverseError('realtime.wal_failed', `the write-ahead log failed: ${String(this.failed)}`);
    const first = this.nextSeq;
    if (records.length === 0) return { first, committed: Promise.resolve() };
    this.nextSeq += records.length;
    const last = first + records.length - 1;
    const parts = this.encode(records);
    this.queue.push({ seq: last, header: frameHeader(last, parts), parts });
    const committed = this.waitFor(last);
    this.kick();
    return { first, committed };
  }

  /**
   * `JSON.stringify(records)` as UTF-8 in the queue's slabs, a slice of records at a time: slices
   * `[a,b]`, `[c,d]`, `[e]` are written `[a,b`, `,c,d`, `,e]`, one after the other.
   */
  private encode(records: readonly unknown[]): Buffer[] {
    const parts: Buffer[] = [];
    // Where this frame's bytes start in the current slab (-1: none there yet).
    let partStart = -1;
    for (let i = 0; i < records.length; i += RECORDS_PER_SLICE) {
      const json = JSON.stringify(records.slice(i, i + RECORDS_PER_SLICE));
      // At most 3 UTF-8 bytes per UTF-16 unit.
      const need = 3 * json.length;
      if (!this.slab || this.slabUsed + need > this.slab.length) {
        if (partStart >= 0) parts.push(this.slab!.subarray(partStart, this.slabUsed));
        const spare = this.freeSlabs.length > 0 && need <= SLAB_BYTES ? this.freeSlabs.pop() : undefined;
        this.slab = spare ?? Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, need));
        this.slabUsed = 0;
        this.queueSlabs.push(this.slab);
        partStart = -1;
      }
      const at = this.slabUsed;
      if (partStart < 0) partStart = at;
      const { written } = encoder.encodeInto(json, this.slab.subarray(at));
      if (i > 0) this.slab[at] = COMMA;
      this.slabUsed = i + RECORDS_PER_SLICE < records.length ? at + written - 1 : at + written;
    }
    parts.push(this.slab!.subarray(partStart, this.slabUsed));
    return parts;
  }

  /** Resolves once `seq` is on disk. */
  waitFor(seq: number): Promise<void> {
    if (seq <= this.durableSeq) return Promise.resolve();
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  private kick(): void {
    if (this.writing || this.queue.length === 0) return;
    this.writing = true;
    void this.writeGroups();
  }

  private async writeGroups(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.queue;
        this.queue = [];
        // The group's slabs are written now; appends meanwhile fill others.
        const slabs = this.queueSlabs;
        this.queueSlabs = [];
        this.slab = undefined;
        const last = group[group.length - 1]!.seq;
        await this.ensureFile(this.durableSeq + 1);
        // Headers and payloads go out as they are, in one gathered write: no copy of a request's
        // bytes into a frame, nor of the frames into one group buffer.
        const parts: Buffer[] = [];
        let size = 0;
        for (const p of group) {
          parts.push(p.header, ...p.parts);
          size += p.header.length + p.header.readUInt32LE(0);
        }
        await writeAll(this.handle!, parts, size);
        for (const slab of slabs) {
          if (this.freeSlabs.length < FREE_SLABS && slab.length === SLAB_BYTES) this.freeSlabs.push(slab);
        }
        if (this.sync) await this.handle!.datasync();
        this.current!.lastSeq = last;
        this.current!.bytes += size;
        this.groups++;
        this.bytesWritten += size;
        this.durableSeq = last;
        const ready = this.waiters.filter((w) => w.seq <= last);
        this.waiters = this.waiters.filter((w) => w.seq > last);
        for (const w of ready) w.resolve();
        if (this.current!.bytes >= this.segmentBytes) await this.rotate();
      }
    } catch (e) {
      // A failed write or sync: nothing after the last good group may be acknowledged, ever.
      this.failed = e;
      for (const w of this.waiters) w.reject(e);
      this.waiters = [];
    } finally {
      this.writing = false;
    }
    if (!this.failed) this.kick();
  }

  private async ensureFile(firstSeq: number): Promise<void> {
    if (this.handle) return;
    const last = this.files[this.files.length - 1];
    if (last && last.bytes < this.segmentBytes && last.lastSeq === firstSeq - 1) {
      this.handle = await openAsync(last.file, 'a');
      this.current = last;
      return;
    }
    const file = path.join(this.dir, fileName(firstSeq));
    this.handle = await openAsync(file, 'a');
    this.current = { file, firstSeq, lastSeq: firstSeq - 1, bytes: 0 };
    this.files.push(this.current);
    // The new file's name must survive a crash too: sync the folder.
    if (this.sync) syncDir(this.dir);
  }

  private async rotate(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    this.current = undefined;
  }

  /** Delete whole files whose records all have seq <= `seq` (they are in the warehouse). */
  trimThrough(seq: number): number {
    let removed = 0;
    while (this.files.length > 0) {
      const f = this.files[0]!;
      if (f.lastSeq > seq || f === this.current) break;
      rmSync(f.file, { force: true });
      this.files.shift();
      removed++;
    }
    if (removed > 0 && this.sync) syncDir(this.dir);
    return removed;
  }

  /** Bytes held in the log's files. */
  sizeBytes(): number {
    let n = 0;
    for (const f of this.files) {
      try {
        n += statSync(f.file).size;
      } catch {
        // Removed meanwhile.
      }
    }
    return n;
  }

  /** Wait for queued appends, then close the file. */
  async close(): Promise<void> {
    this.closed = true;
    if (!this.failed && this.nextSeq - 1 > this.durableSeq) {
      try {
        await this.waitFor(this.nextSeq - 1);
      } catch {
        // Reported to the appenders already.
      }
    }
    await this.handle?.close();
    this.handle = undefined;
  }
}

/** Write every buffer, in order; a short write (rare: a full disk, a signal) goes on with the rest. */
async function writeAll(handle: FileHandle, parts: readonly Buffer[], size: number): Promise<void> {
  const { bytesWritten } = await handle.writev(parts as Buffer[]);
  if (bytesWritten >= size) return;
  const rest = Buffer.concat(parts as Buffer[]).subarray(bytesWritten);
  let off = 0;
  while (off < rest.length) {
    const r = await handle.write(rest, off, rest.length - off);
    off += r.bytesWritten;
  }
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems cannot sync a folder; the file's own sync is what matters most.
  }
}
