/**
 * Map an offset inside a YAML scalar's *value* to a line and column in the file, for any scalar style
 * (plain, quoted, block literal `|`, folded `>`), so an error in an expression can point at the exact
 * character in the file.
 *
 * The value's characters appear in order in the source text of the scalar; only whitespace (indentation,
 * folding) and quote escapes differ. Walking both in step finds each value character's source offset.
 */
import type { YamlFile } from './yaml-locator.js';

/** 1-based line and column in the file of an offset in the value. */
export type TextPositionMapper = (offset: number) => { line: number; col: number };

export function scalarMapper(
  file: YamlFile,
  valueText: string,
  rangeStart: number,
  rangeEnd: number,
): TextPositionMapper {
  const source = file.text.slice(rangeStart, rangeEnd);
  const offsets: number[] = new Array(valueText.length + 1);
  let p = 0;
  // Skip the block header (| or > with indicators) or an opening quote.
  if (source[0] === '|' || source[0] === '>') {
    p = source.indexOf('\n') + 1;
  } else if (source[0] === "'" || source[0] === '"') {
    p = 1;
  }
  for (let i = 0; i < valueText.length; i++) {
    const c = valueText[i]!;
    if (c === ' ' || c === '\n' || c === '\t') {
      // Whitespace in the value may come from folding or indentation: align loosely.
      while (p < source.length && source[p] !== c && /\s/.test(source[p]!) && c !== '\n') p++;
      offsets[i] = p;
      if (source[p] === c) p++;
      else while (p < source.length && /\s/.test(source[p]!)) p++;
      continue;
    }
    let q = p;
    while (q < source.length && source[q] !== c) q++;
    if (q >= source.length) q = p; // escape we cannot follow: stay close
    offsets[i] = q;
    p = q + 1;
  }
  offsets[valueText.length] = p;
  return (offset: number) => {
    const o = offsets[Math.max(0, Math.min(offset, valueText.length))] ?? 0;
    return file.lineCol(rangeStart + o);
  };
}
