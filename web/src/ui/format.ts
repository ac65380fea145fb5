/** How the console writes numbers, times and tag values: one place, the same everywhere. */

const INT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const DEC = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const SMALL = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });

export function fmtInt(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : INT.format(n);
}

export function fmtNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  if (Number.isInteger(n)) return INT.format(n);
  return Math.abs(n) < 1 ? SMALL.format(n) : DEC.format(n);
}

/** 0.1234 -> "12.3%" */
export function fmtShare(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  const pct = x * 100;
  return `${pct !== 0 && Math.abs(pct) < 0.1 ? pct.toFixed(2) : pct.toFixed(1)}%`;
}

/** An ISO time as "2025-12-31 14:55 UTC" (dates stay dates). */
export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** How long ago a time was, relative to `now` ("3 days ago", "in 2 hours"). */
export function fmtAgo(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const s = (now - t) / 1000;
  const a = Math.abs(s);
  const [n, unit] =
    a < 90
      ? [Math.round(a), 'second']
      : a < 5400
        ? [Math.round(a / 60), 'minute']
        : a < 129_600
          ? [Math.round(a / 3600), 'hour']
          : a < 86_400 * 60
            ? [Math.round(a / 86_400), 'day']
            : a < 86_400 * 730
              ? [Math.round(a / (86_400 * 30.44)), 'month']
              : [Math.round(a / (86_400 * 365.25)), 'year'];
  const words = `${n} ${unit}${n === 1 ? '' : 's'}`;
  return s >= 0 ? `${words} ago` : `in ${words}`;
}

export function fmtDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export interface ListItem {
  readonly value: string;
  readonly score: number;
}

export function isList(v: unknown): v is ListItem[] {
  return Array.isArray(v) && v.every((x) => x !== null && typeof x === 'object' && 'value' in x);
}

/** A tag or attribute value as text. */
export function fmtValue(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') return fmtNumber(v);
  if (typeof v === 'string') return /^\d{4}-\d{2}-\d{2}T/.test(v) ? fmtTime(v) : v;
  if (isList(v)) return v.map((x) => `${x.value} (${fmtNumber(x.score)})`).join(', ');
  return JSON.stringify(v);
}

/**
 * A tooltip's HTML from lines of plain text: every line escaped (tag titles, category values and ids
 * come from definitions and data, never trusted as markup).
 */
export function tooltipLines(...lines: readonly string[]): string {
  const escapeHtml = (s: string) =>
    s.replace(
      /[&<>"']/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
    );
  return lines.map(escapeHtml).join('<br/>');
}
