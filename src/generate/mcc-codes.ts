/**
 * The real merchant category codes (ISO 18245) from the `mcc` package. Every MCC the generator
 * uses is looked up here, so an invented or mistyped code fails fast instead of reaching the data.
 */
import mcc from 'mcc';

export interface MccCode {
  readonly mcc: string;
  readonly description: string;
}

/** All codes of the package, sorted by code, descriptions trimmed. */
export const MCC_CODES: readonly MccCode[] = mcc.all
  .map((e) => ({ mcc: e.mcc, description: e.edited_description.trim() }))
  .sort((a, b) => (a.mcc < b.mcc ? -1 : a.mcc > b.mcc ? 1 : 0));

const INDEX = new Map(MCC_CODES.map((c, i) => [c.mcc, i]));

/** Position of a code in MCC_CODES; throws for a code the package does not know. */
export function mccIndex(code: string): number {
  const i = INDEX.get(code);
  if (i === undefined)
    throw new Error(`MCC ${code} is not in the mcc package: the generator must only use real codes`);
  return i;
}
