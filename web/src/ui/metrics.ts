/** Reading the server's Prometheus text (/metrics): the sum of a counter over all its label sets. */
export function counterTotal(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([0-9.eE+-]+|NaN|\+Inf)/.exec(line);
    if (!m || m[1] !== name) continue;
    const v = Number(m[3]);
    if (Number.isFinite(v)) total = (total ?? 0) + v;
  }
  return total;
}
