/**
 * The write-ahead log on its own: frames read back in order after a reopen, group commit, file
 * rotation and trimming, a torn tail cut off, damage elsewhere refused with the file and offset.
 */
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { frameHeader, readFrames, WriteAheadLog } from '../../src/realtime/wal.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'tagverse-wal-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Records that name their seq, so a read back can be checked record by record. */
const recordsOf = (first: number, count: number) =>
  Array.from({ length: count }, (_, i) => `record ${first + i} ${'x'.repeat(i % 7)}`);
/** Append `count` such records. */
const appendRecords = (wal: WriteAheadLog, count: number) => wal.append(recordsOf(wal.peekSeq(), count));

const logFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort();

describe('WriteAheadLog', () => {
  test('appends made together share one write and sync, and all read back in order after a reopen', async () => {
    const dir = tempDir();
    const { wal, frames } = await WriteAheadLog.open(dir, 100);
    expect(frames).toEqual([]);
    const appends = [3, 1, 500, 2].map((count) => appendRecords(wal, count));
    expect(appends.map((a) => a.first)).toEqual([101, 104, 105, 605]);
    await Promise.all(appends.map((a) => a.committed));
    expect(wal.durable).toBe(606);
    // The first append starts a write; the three made meanwhile go out together in the next one.
    expect(wal.groups).toBe(2);
    await wal.close();

    const again = await WriteAheadLog.open(dir, 0);
    expect(again.frames.map((f) => f.lastSeq)).toEqual([103, 104, 604, 606]);
    let first = 101;
    for (const f of again.frames) {
      const records = JSON.parse(f.payload.toString('utf8')) as string[];
      expect(records).toEqual(recordsOf(first, f.lastSeq - first + 1));
      first = f.lastSeq + 1;
    }
    expect(again.wal.peekSeq()).toBe(607);
    expect(again.wal.sizeBytes()).toBe(statSync(path.join(dir, logFiles(dir)[0]!)).size);
    await again.wal.close();
  });

  test('a frame holds exactly JSON.stringify of its records, however they fall into slices and slabs', async () => {
    const dir = tempDir();
    const { wal } = await WriteAheadLog.open(dir, 0);
    // Text JSON escapes, non-Latin-1 text, lone surrogates (written as escapes), numbers; records
    // large enough that frames span several 1 MB slabs, and one record larger than a slab.
    const odd = ['quote " back \\ nl \n', '서울 カード ✓', '\ud800 lone', '\udfff', 'emoji 🚀', '\u0000'];
    const spanning = () =>
      Array.from({ length: 3000 }, (_, i) => ({ i, text: `${odd[i % odd.length]} ${'y'.repeat(i % 900)}` }));
    const batches: unknown[][] = [
      spanning(), // from the start of a slab into the next
      [{ a: 1 }],
      Array.from({ length: 65 }, (_, i) => ({ i, s: odd[i % odd.length], n: i / 3, neg: -i })),
      spanning(), // from the middle of a slab
      [{ big: 'z'.repeat(1_500_000) }, { after: odd }],
      Array.from({ length: 64 }, (_, i) => i),
      Array.from({ length: 128 }, (_, i) => [i, null, true]),
    ];
    const appends = batches.map((b) => wal.append(b));
    await Promise.all(appends.map((a) => a.committed));
    await wal.close();
    const { frames, wal: again } = await WriteAheadLog.open(dir, 0);
    expect(frames).toHaveLength(batches.length);
    frames.forEach((f, i) => {
      const want = Buffer.from(JSON.stringify(batches[i]));
      expect(f.payload.equals(want)).toBe(true);
    });
    await again.close();
  });

  test('files rotate at the size limit, and trimming removes whole files the warehouse holds', async () => {
    const dir = tempDir();
    const { wal } = await WriteAheadLog.open(dir, 0, { segmentBytes: 100 });
    for (let i = 0; i < 6; i++) await appendRecords(wal, 4).committed;
    const files = logFiles(dir);
    expect(files.length).toBeGreaterThan(2);
    // Each file is named by its first seq and starts with that record.
    for (const name of files) {
      const firstSeq = Number(/wal-(\d+)\.log/.exec(name)![1]);
      const { frames } = readFrames(readFileSync(path.join(dir, name)));
      const records = JSON.parse(frames[0]!.payload.toString('utf8')) as string[];
      expect(records[0]).toBe(`record ${firstSeq} `);
    }
    // Records up to 12 are in the warehouse: files holding only those go, the rest stay.
    wal.trimThrough(12);
    const left = await readBack(dir, wal);
    expect(left[0]).toBeLessThanOrEqual(13);
    expect(left.at(-1)).toBe(24);
    await wal.close();
  });

  test('a torn frame at the end (never acknowledged) is cut off; appends go on after the good ones', async () => {
    const dir = tempDir();
    const { wal } = await WriteAheadLog.open(dir, 0);
    await appendRecords(wal, 2).committed;
    await appendRecords(wal, 3).committed;
    await wal.close();
    const file = path.join(dir, logFiles(dir)[0]!);
    const good = statSync(file).size;
    // A crash in the middle of the next write: its header and half its payload.
    const torn = Buffer.from(JSON.stringify(recordsOf(6, 10)));
    appendFileSync(file, Buffer.concat([frameHeader(15, [torn]), torn.subarray(0, torn.length >> 1)]));

    const again = await WriteAheadLog.open(dir, 0);
    expect(again.frames.map((f) => f.lastSeq)).toEqual([2, 5]);
    expect(statSync(file).size).toBe(good);
    expect(again.wal.peekSeq()).toBe(6);
    await appendRecords(again.wal, 1).committed;
    await again.wal.close();
    const third = await WriteAheadLog.open(dir, 0);
    expect(third.frames.map((f) => f.lastSeq)).toEqual([2, 5, 6]);
    await third.wal.close();
  });

  test('a damaged frame before the last file refuses the start, naming the file and the offset', async () => {
    const dir = tempDir();
    const { wal } = await WriteAheadLog.open(dir, 0, { segmentBytes: 100 });
    for (let i = 0; i < 3; i++) await appendRecords(wal, 5).committed;
    await wal.close();
    const files = logFiles(dir);
    expect(files.length).toBeGreaterThan(1);
    const first = path.join(dir, files[0]!);
    const bytes = readFileSync(first);
    const { frames } = readFrames(bytes);
    const lastFrameAt = bytes.length - 16 - frames.at(-1)!.payload.length;
    const at = bytes.length - 3; // one byte of the last frame's payload: its CRC no longer matches
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(first, bytes);
    await expect(WriteAheadLog.open(dir, 0)).rejects.toThrow(
      new RegExp(`${files[0]!.replace('.', '\\.')} is damaged at byte ${lastFrameAt} \\(not its end\\)`),
    );
    // Nothing was cut: the damaged file is left for the operator.
    expect(readFileSync(first)).toEqual(bytes);
  });
});

/** Seqs of every record left in the log's files, in order. */
async function readBack(dir: string, wal: WriteAheadLog): Promise<number[]> {
  const seqs: number[] = [];
  for (const f of wal.files) {
    for (const fr of readFrames(readFileSync(f.file)).frames) {
      for (const r of JSON.parse(fr.payload.toString('utf8')) as string[]) seqs.push(Number(r.split(' ')[1]));
    }
  }
  expect(logFiles(dir)).toEqual(wal.files.map((f) => path.basename(f.file)));
  return seqs;
}
