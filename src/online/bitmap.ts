/**
 * Roaring bitmaps of entity ordinals (the native `roaring` package, CRoaring underneath).
 * One import site, so the rest of the code says `Bitmap` and a switch to `roaring-wasm` stays local.
 */
import { createRequire } from 'node:module';

/**
 * roaring finds its native binary through node-pre-gyp, which parses `process.argv` as its own
 * options: a CLI flag such as `--dir X` would be read as node-pre-gyp's `--directory`. Load it with
 * a neutral argv.
 */
function loadRoaring(): typeof import('roaring') {
  const require = createRequire(import.meta.url);
  const argv = process.argv;
  process.argv = argv.slice(0, 2);
  try {
    return require('roaring') as typeof import('roaring');
  } finally {
    process.argv = argv;
  }
}
const roaring = loadRoaring();

export const Bitmap = roaring.RoaringBitmap32;
export type Bitmap = InstanceType<typeof roaring.RoaringBitmap32>;

/** The bitmap of every ordinal in [0, n). */
export function fullBitmap(n: number): Bitmap {
  const b = new Bitmap();
  if (n > 0) b.addRange(0, n);
  return b;
}

/**
 * A scratch array of at least n ordinals, reused by every caller: for work that ends before it
 * returns (a copy to sort, a bitmap's members to filter). A new array per query would be memory the
 * garbage collector counts and answers with a full collection every few hundred queries, which on a
 * 1M-entity store pauses the server for 100 ms or more.
 */
export function scratchOrdinals(n: number): Uint32Array {
  if (scratch.length < n) scratch = new Uint32Array(Math.max(n, 2 * scratch.length));
  return scratch;
}
let scratch = new Uint32Array(1 << 16);

/** A bitmap from ordinals in any order (sorted first: CRoaring adds sorted runs much faster). */
export function bitmapOf(ordinals: Uint32Array): Bitmap {
  const sorted = scratchOrdinals(ordinals.length).subarray(0, ordinals.length);
  sorted.set(ordinals);
  sorted.sort();
  const b = new Bitmap();
  b.addMany(sorted);
  return b;
}

/** Serialized form for snapshots (CRoaring portable format). */
export function serializeBitmap(b: Bitmap): Uint8Array {
  return b.serialize('portable');
}

export function deserializeBitmap(bytes: Uint8Array): Bitmap {
  return Bitmap.deserialize(bytes, 'portable');
}
