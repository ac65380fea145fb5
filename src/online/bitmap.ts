/**
 * Roaring bitmaps of entity ordinals (the native `roaring` package, CRoaring underneath).
 * One import site, so the rest of the code says `Bitmap` and a switch to `roaring-wasm` stays local.
 */
import roaring from 'roaring';

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
