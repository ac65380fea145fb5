/**
 * Reading a model card from the models API (built by another part of the project): the names looked
 * for are listed in docs/console.md. Missing parts come back empty, never invented.
 */

export interface ModelCard {
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly algorithm?: string;
  readonly trainedAt?: string;
  /** Every numeric metric found (auc, prAuc, logLoss, brier, ...). */
  readonly metrics: Readonly<Record<string, number>>;
  readonly roc: readonly { x: number; y: number }[];
  /** The ROC points are the decile cut-offs of the gains table (the card had no curve of its own). */
  readonly rocFromGains: boolean;
  readonly gains: readonly {
    decile: number | string;
    lift?: number;
    gain?: number;
    count?: number;
    rate?: number;
  }[];
  readonly calibration: readonly { predicted: number; observed: number }[];
  readonly features: readonly { name: string; importance: number }[];
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const num = (o: Obj, ...keys: string[]): number | undefined => {
  for (const k of keys) if (typeof o[k] === 'number' && Number.isFinite(o[k])) return o[k] as number;
  return undefined;
};
const str = (o: Obj, ...keys: string[]): string | undefined => {
  for (const k of keys) if (typeof o[k] === 'string') return o[k] as string;
  return undefined;
};
const arr = (o: Obj, ...keys: string[]): unknown[] => {
  for (const k of keys) if (Array.isArray(o[k])) return o[k] as unknown[];
  return [];
};

/** [a, b] pairs or {x, y}-like objects under the given names. */
function pairs(items: unknown[], xs: string[], ys: string[]): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (const it of items) {
    if (Array.isArray(it) && typeof it[0] === 'number' && typeof it[1] === 'number')
      out.push({ x: it[0], y: it[1] });
    else {
      const o = obj(it);
      const x = num(o, ...xs);
      const y = num(o, ...ys);
      if (x !== undefined && y !== undefined) out.push({ x, y });
    }
  }
  return out;
}

export function readModelCard(body: unknown): ModelCard {
  const root = obj(body);
  const card =
    Object.keys(obj(root.card)).length > 0
      ? obj(root.card)
      : Object.keys(obj(root.model)).length > 0
        ? obj(root.model)
        : root;
  const evaluation = obj(card.evaluation ?? card.metrics);
  const metrics: Record<string, number> = {};
  for (const source of [obj(card.metrics), obj(obj(card.evaluation).metrics), evaluation])
    for (const [k, v] of Object.entries(source))
      if (typeof v === 'number' && Number.isFinite(v)) metrics[k] = v;
  const pick = (...keys: string[]) => {
    for (const source of [card, evaluation, obj(card.evaluation)]) {
      const a = arr(source, ...keys);
      if (a.length > 0) return a;
    }
    return [];
  };
  const roc = pairs(
    pick('roc', 'rocCurve', 'roc_curve'),
    ['fpr', 'x', 'falsePositiveRate'],
    ['tpr', 'y', 'truePositiveRate'],
  );
  const gains = pick('gains', 'lift', 'deciles', 'gainsByDecile').map((g, i) => {
    const o = obj(g);
    const lift = num(o, 'lift');
    const gain = num(o, 'cumulativeGain', 'cumulative_gain', 'gain', 'cumGain');
    const count = num(o, 'count', 'rows');
    const rate = num(o, 'rate', 'positiveRate');
    return {
      decile: num(o, 'decile') ?? i + 1,
      ...(lift !== undefined ? { lift } : {}),
      ...(gain !== undefined ? { gain } : {}),
      ...(count !== undefined ? { count } : {}),
      ...(rate !== undefined ? { rate } : {}),
    };
  });
  const name = str(card, 'name', 'model', 'id') ?? 'model';
  const title = str(card, 'title');
  const description = str(card, 'description');
  const algorithm = str(card, 'algorithm', 'algo');
  const trainedAt = str(card, 'trainedAt', 'trained_at', 'createdAt');
  return {
    name,
    ...(title !== undefined ? { title } : {}),
    ...(description !== undefined ? { description } : {}),
    ...(algorithm !== undefined ? { algorithm } : {}),
    ...(trainedAt !== undefined ? { trainedAt } : {}),
    metrics,
    roc: roc.length > 0 ? roc : rocOfGains(gains),
    rocFromGains: roc.length === 0 && gains.length > 0 && rocOfGains(gains).length > 0,
    gains,
    calibration: pairs(
      pick('calibration', 'calibrationTable'),
      ['predicted', 'meanPredicted', 'mean_predicted', 'x'],
      ['observed', 'observedRate', 'meanObserved', 'mean_observed', 'rate', 'y'],
    ).map((p) => ({ predicted: p.x, observed: p.y })),
    features: pick('topFeatures', 'top_features', 'features', 'importances')
      .map((f) => {
        const o = obj(f);
        const n = str(o, 'name', 'feature', 'tag');
        const v = num(o, 'gain', 'importance', 'weight', 'value');
        return n !== undefined && v !== undefined ? { name: n, importance: v } : undefined;
      })
      .filter((x): x is { name: string; importance: number } => x !== undefined)
      .slice(0, 20),
  };
}

/**
 * ROC points at the decile cut-offs of a binary model's gains table (decile 1 = highest scores): from
 * each decile's rows and positive rate, the true and false positive rates of "score in deciles 1..d".
 * Empty when the table lacks counts or rates, or they are not those of a binary label.
 */
export function rocOfGains(gains: ModelCard['gains']): { x: number; y: number }[] {
  const rows = gains.map((g) => ({ n: g.count, rate: g.rate }));
  if (
    rows.length === 0 ||
    rows.some((r) => r.n === undefined || r.rate === undefined || r.rate < 0 || r.rate > 1)
  )
    return [];
  const pos = rows.map((r) => r.n! * r.rate!);
  const P = pos.reduce((a, b) => a + b, 0);
  const N = rows.reduce((a, r, i) => a + r.n! - pos[i]!, 0);
  if (P <= 0 || N <= 0) return [];
  const out = [{ x: 0, y: 0 }];
  let tp = 0;
  let fp = 0;
  rows.forEach((r, i) => {
    tp += pos[i]!;
    fp += r.n! - pos[i]!;
    out.push({ x: fp / N, y: tp / P });
  });
  return out;
}
