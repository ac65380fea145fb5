/**
 * Ranking metrics for one entity's top-K list against its held-out items (binary relevance), and
 * their means. Definitions (docs/recommendations.md):
 * - Recall@K = hits in the top K / min(K, |relevant|) (so a perfect list scores 1 even when more than K
 *   items are relevant),
 * - NDCG@K = DCG / ideal DCG, DCG = Σ_{rank r hit} 1 / log2(r + 1), ideal: min(K, |relevant|) hits first,
 * - AP@K = Σ_{rank r hit} precision@r / min(K, |relevant|); MAP@K is its mean over entities.
 */
export interface RankingScores {
  readonly recall: number;
  readonly ndcg: number;
  readonly ap: number;
}

export function rankingScores(
  ranked: readonly number[],
  relevant: ReadonlySet<number>,
  k: number,
): RankingScores {
  const denom = Math.min(k, relevant.size);
  if (denom === 0) return { recall: 0, ndcg: 0, ap: 0 };
  let hits = 0;
  let dcg = 0;
  let ap = 0;
  const n = Math.min(k, ranked.length);
  for (let r = 0; r < n; r++) {
    if (!relevant.has(ranked[r]!)) continue;
    hits++;
    dcg += 1 / Math.log2(r + 2);
    ap += hits / (r + 1);
  }
  let idcg = 0;
  for (let r = 0; r < denom; r++) idcg += 1 / Math.log2(r + 2);
  return { recall: hits / denom, ndcg: dcg / idcg, ap: ap / denom };
}

/** Running means of ranking scores plus the items recommended (catalogue coverage). */
export class RankingAccumulator {
  private n = 0;
  private recall = 0;
  private ndcg = 0;
  private ap = 0;
  private readonly seen: Uint8Array;
  private distinct = 0;

  constructor(
    readonly k: number,
    readonly catalogue: number,
  ) {
    this.seen = new Uint8Array(catalogue);
  }

  add(ranked: readonly number[], relevant: ReadonlySet<number>): void {
    const s = rankingScores(ranked, relevant, this.k);
    this.n++;
    this.recall += s.recall;
    this.ndcg += s.ndcg;
    this.ap += s.ap;
    for (const i of ranked.slice(0, this.k)) {
      if (i < this.catalogue && this.seen[i] === 0) {
        this.seen[i] = 1;
        this.distinct++;
      }
    }
  }

  result(): { entities: number; recall: number; ndcg: number; map: number; coverage: number } {
    const m = (x: number) => (this.n === 0 ? 0 : x / this.n);
    return {
      entities: this.n,
      recall: m(this.recall),
      ndcg: m(this.ndcg),
      map: m(this.ap),
      coverage: this.catalogue === 0 ? 0 : this.distinct / this.catalogue,
    };
  }
}
