/**
 * Many rows into DuckDB without a native call per cell: the rows are serialised as one JSON array
 * (`JSON.stringify` of a slice at a time), written to a file beside the warehouse, and read back by
 * `read_json` inside an `INSERT ... SELECT`, which DuckDB runs on its own threads while the event
 * loop goes on. The Appender it replaces cost the main thread one N-API call per cell and ran the
 * insert synchronously (`flushSync`), stalling every request for the whole flush.
 *
 * What goes in comes out unchanged: strings (quotes, backslashes, newlines, NUL, any Unicode) and
 * numbers (doubles and safe integers read back bit for bit; `JSON.stringify` writes the shortest
 * round-tripping form and DuckDB's reader rounds correctly). Two values JSON cannot carry become what
 * the log replay (also JSON) and the Appender already made of them: `-0` is `0`, and a lone UTF-16
 * surrogate (`"\ud800"` sent over HTTP) is U+FFFD.
 *
 * Files live in `<warehouse file>.staging/` (beside DuckDB's own `.wal`) only while a flush uses
 * them; files a crashed process left there are removed by the next flush.
 */
import type { Hash } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { str } from '../warehouse/sql.js';
import type { Warehouse } from '../warehouse/warehouse.js';

/** A staged JSON document. */
export interface StagedJson {
  readonly file: string;
}

/** Values serialised at a time, and bytes written at a time (the event loop waits a few ms at most). */
const SLICE = 256;
const BUFFER_BYTES = 1 << 20;
const COMMA = 0x2c;
/** Encoding buffers free for the next stage (each stage running holds one; two are kept). */
const buffers: Buffer[] = [];

/** The columns `read_json` produces, as `[name, DuckDB type]` (STRUCT types for nested objects). */
export type JsonColumns = readonly (readonly [name: string, type: string])[];

const swept = new Set<string>();
let counter = 0;

/** The staged files of one flush, removed together. */
export class JsonStaging {
  private readonly files: string[] = [];

  private constructor(private readonly dir: string) {}

  /** Staging beside the warehouse file (in the system temp folder for an in-memory warehouse). */
  static async open(wh: Warehouse): Promise<JsonStaging> {
    const dir =
      wh.file === ':memory:'
        ? path.join(os.tmpdir(), 'tagverse-staging')
        : `${path.resolve(wh.file)}.staging`;
    await mkdir(dir, { recursive: true });
    if (!swept.has(dir)) {
      swept.add(dir);
      for (const name of await readdir(dir)) {
        if (ownerGone(name)) await rm(path.join(dir, name), { force: true });
      }
    }
    return new JsonStaging(dir);
  }

  /**
   * Write `values` as one JSON array, `digest` (if given) updated with its bytes. The main thread
   * serialises `SLICE` values at a time and encodes them into a reused megabyte buffer (a fresh
   * buffer per string cost more than the encoding), and yields to the event loop while each full
   * buffer is written; reading the file is DuckDB's work.
   */
  async stage(values: readonly unknown[], label: string, digest?: Hash): Promise<StagedJson> {
    const file = path.join(this.dir, `${process.pid}-${++counter}-${label.replace(/[^\w-]/g, '_')}.json`);
    this.files.push(file);
    const out = await open(file, 'w');
    const buf = buffers.pop() ?? Buffer.allocUnsafeSlow(BUFFER_BYTES);
    try {
      if (values.length === 0) await out.write('[]');
      let used = 0;
      for (let i = 0; i < values.length; i += SLICE) {
        const json = wellFormedJson(JSON.stringify(values.slice(i, i + SLICE)));
        // At most 3 UTF-8 bytes per UTF-16 unit: write out what is buffered when this might not fit.
        if (used + 3 * json.length > buf.length && used > 0) {
          await writeAll(out, buf.subarray(0, used));
          used = 0;
        }
        const big = 3 * json.length > buf.length;
        const bytes = big ? Buffer.from(json) : buf.subarray(used, used + buf.write(json, used));
        // Slices `[a,b]`, `[c,d]`, `[e]` are written `[a,b`, `,c,d`, `,e]`.
        if (i > 0) bytes[0] = COMMA;
        const part = i + SLICE < values.length ? bytes.subarray(0, bytes.length - 1) : bytes;
        digest?.update(part);
        if (big) await writeAll(out, part);
        else used += part.length;
      }
      if (used > 0) await writeAll(out, buf.subarray(0, used));
    } finally {
      await out.close();
      if (buffers.length < 2) buffers.push(buf);
    }
    return { file };
  }

  /** Remove every file staged here (after the flush committed or failed). */
  async remove(): Promise<void> {
    for (const file of this.files.splice(0)) await rm(file, { force: true });
  }
}

/** Write all of `bytes` (a write may take fewer bytes than it was given). */
async function writeAll(out: FileHandle, bytes: Buffer): Promise<void> {
  for (let done = 0; done < bytes.length; ) done += (await out.write(bytes, done)).bytesWritten;
}

/**
 * A table function reading a staged array of objects with the given columns (other keys ignored).
 * One object may be as large as a gigabyte (the default limit, 16 MB, would refuse a row with a
 * long text that the Appender took).
 */
export function readJson(staged: StagedJson, columns: JsonColumns): string {
  const cols = columns.map(([name, type]) => `${str(name)}: ${str(type)}`).join(', ');
  return `read_json(${str(staged.file)}, format = 'array', records = true, columns = {${cols}}, maximum_object_size = 1073741824)`;
}

/**
 * `JSON.stringify` writes a lone surrogate as the escape `\udXXX`, which DuckDB's reader refuses;
 * make each one U+FFFD, as N-API (the Appender) does when it turns a JS string into UTF-8. Only an
 * escape that is one (an odd run of backslashes before `u`) is replaced, not the text `\ud800`.
 */
export function wellFormedJson(json: string): string {
  if (!json.includes('\\ud')) return json;
  return json.replace(/(\\+)ud[89a-f][0-9a-f]{2}/g, (m, slashes: string) =>
    slashes.length % 2 === 1 ? `${slashes}ufffd` : m,
  );
}

/** Whether the process that staged this file (its name starts with the pid) has ended. */
function ownerGone(name: string): boolean {
  const pid = Number(name.split('-')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
