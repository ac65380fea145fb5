/**
 * Lists from API parts the console does not own the shape of (recommendations, offers, model cards):
 * read defensively, showing what is there and nothing made up.
 */

export interface ShownItem {
  readonly label: string;
  readonly score?: number;
  readonly reasons: readonly string[];
  readonly detail?: string;
}

const LABEL_KEYS = ['title', 'name', 'label', 'item', 'itemId', 'offerId', 'id', 'value'];

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of ['text', 'reason', 'message', 'description', ...LABEL_KEYS])
      if (typeof o[k] === 'string') return o[k] as string;
  }
  return undefined;
}

/** The first array in a response (the response itself, or its first array-valued field). */
export function firstArray(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  if (body && typeof body === 'object') for (const v of Object.values(body)) if (Array.isArray(v)) return v;
  return [];
}

export function shownItems(body: unknown): ShownItem[] {
  return firstArray(body).map((x) => {
    if (!x || typeof x !== 'object') return { label: String(x), reasons: [] };
    const o = x as Record<string, unknown>;
    const label =
      LABEL_KEYS.map((k) => text(o[k])).find((v) => v !== undefined) ?? JSON.stringify(o).slice(0, 80);
    const reasons = Array.isArray(o.reasons)
      ? o.reasons.map(text).filter((r): r is string => !!r)
      : typeof o.reason === 'string'
        ? [o.reason]
        : [];
    const detail = typeof o.description === 'string' ? o.description : undefined;
    return {
      label,
      ...(typeof o.score === 'number' ? { score: o.score } : {}),
      reasons,
      ...(detail ? { detail } : {}),
    };
  });
}
