/**
 * Deterministic row splits. Holdout sets are drawn by entity (every row of an entity, at every cutoff,
 * falls on the same side), from a hash of the entity id and the seed: the same data and seed always
 * give the same split, whatever the row order.
 */
import { hashInts } from '../generate/prng.js';

/** A uniform number in [0, 1) for an entity id and a seed. */
export function entityUniform(id: string, seed: number, stream: number): number {
  // FNV-1a over UTF-16 code units, then mixed with the seed and stream.
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return hashInts(h, seed, stream) / 4294967296;
}

/** Indices of the rows where `pick(row)` is true, and of the others. */
export function partitionRows(
  rows: number,
  pick: (row: number) => boolean,
): { yes: Uint32Array; no: Uint32Array } {
  const yes: number[] = [];
  const no: number[] = [];
  for (let r = 0; r < rows; r++) (pick(r) ? yes : no).push(r);
  return { yes: Uint32Array.from(yes), no: Uint32Array.from(no) };
}
