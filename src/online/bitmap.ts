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

/** A bitmap from ordinals in any order (sorted first: CRoaring adds sorted runs much faster). */
export function bitmapOf(ordinals: Uint32Array): Bitmap {
  const sorted = ordinals.slice().sort();
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
