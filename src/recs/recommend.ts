/**
 * Recommending for one entity: the trained model's scores over the entity's history, then the
 * filters of its definition, in this order:
 * 1. eligibility: an entity outside the `eligibility` segment gets nothing (`eligible: false`);
 * 2. repeat: items of the `repeat` recurrence tags that are due within `repeat_within` of now are
 *    kept even when already bought, and ranked first (soonest due first);
 * 3. exclude_bought, `exclude` and `min_support` leave items out;
 * 4. the k best remaining items by score (ties by item order).
 * An entity the model has not seen (no history) gets the most popular items ("cold start").
 */
import type { ProjectConfig } from '../config/project.js';
import { refValue } from '../online/columns.js';
import type { TagStore } from '../online/store.js';
import { TagverseError } from '../util/problems.js';
import { scoreItems, topK } from './algorithms.js';
import type { RecsDefinition } from './definition.js';
import { entityMatches } from './entity-scope.js';
import type { RecsFile } from './model-file.js';

export interface RecommendedItem {
  readonly item: string;
  readonly rank: number;
  /** The model's score (its own scale; comparable within one result). */
  readonly score: number;
  readonly reasons: readonly string[];
}

export interface RecommendResult {
  readonly entityId: string;
  readonly recommender: string;
  readonly version: number;
  readonly algorithm: string;
  /** False when the entity is outside the eligibility segment (then `items` is empty). */
  readonly eligible: boolean;
  /** True when the model has no history for the entity (popular items instead). */
  readonly coldStart: boolean;
  readonly items: readonly RecommendedItem[];
}

export interface RecommendOptions {
  readonly k?: number;
  /** Tags of the entity (eligibility, repeat): needed when the definition uses them. */
  readonly store?: TagStore;
  /** "Now" for due dates, epoch ms (default: the store's as-of time). */
  readonly nowMs?: number;
}

const DAY_MS = 86_400_000;
const MAX_K = 1000;

export class Recommender {
  private entityRow?: Map<string, number>;
  private itemCode?: Map<string, number>;
  private excluded?: Uint8Array;

  constructor(
    readonly config: ProjectConfig,
    readonly def: RecsDefinition,
    readonly file: RecsFile,
  ) {}

  get name(): string {
    return this.def.input.name;
  }

  /** Whether recommending needs the entity's tags. */
  get needsStore(): boolean {
    return this.def.filters.eligibility !== undefined || this.def.filters.repeat.length > 0;
  }

  private rowOf(id: string): number | undefined {
    if (!this.entityRow) this.entityRow = new Map(this.file.entities.map((e, i) => [e, i]));
    return this.entityRow.get(id);
  }

  itemIndex(item: string): number | undefined {
    if (!this.itemCode) this.itemCode = new Map(this.file.items.map((e, i) => [e, i]));
    return this.itemCode.get(item);
  }

  private excludedItems(): Uint8Array {
    if (!this.excluded) {
      const x = new Uint8Array(this.file.items.length);
      for (const it of this.def.filters.exclude) {
        const i = this.itemIndex(it);
        if (i !== undefined) x[i] = 1;
      }
      const pop = this.file.model.popularity;
      for (let i = 0; i < x.length; i++) if (pop[i]! < this.def.filters.minSupport) x[i] = 1;
      this.excluded = x;
    }
    return this.excluded;
  }

  /** Due repeat items of an entity: item index -> due time (epoch ms). */
  private dueItems(store: TagStore, ordinal: number, nowMs: number): Map<number, number> {
    const due = new Map<number, number>();
    const within = this.def.filters.repeatWithinSeconds * 1000;
    for (const tag of this.def.filters.repeat) {
      const flag = store.tags.get(tag);
      const value = store.tags.get(`${tag}_value`);
      const next = store.tags.get(`${tag}_next_due`);
      if (!flag || !value || !next) {
        throw new TagverseError(
          'recs.bad_repeat_tag',
          `repeat tag '${tag}' needs a recurrence tag with a dimension (${tag}, ${tag}_value, ${tag}_next_due)`,
        );
      }
      if (refValue(flag, ordinal) !== true) continue;
      const item = refValue(value, ordinal);
      const dueUs = refValue(next, ordinal);
      if (typeof item !== 'string' || typeof dueUs !== 'number') continue;
      const dueMs = dueUs / 1000;
      const i = this.itemIndex(item);
      if (i === undefined || dueMs > nowMs + within) continue;
      due.set(i, Math.min(due.get(i) ?? Number.POSITIVE_INFINITY, dueMs));
    }
    return due;
  }

  /**
   * The k best items for an entity.
   * @example
   *   const r = recommender.recommend('C0000042', { k: 10, store });
   *   r.items.map((x) => x.item);
   */
  recommend(entityId: string, opts: RecommendOptions = {}): RecommendResult {
    const k = Math.max(1, Math.min(MAX_K, Math.floor(opts.k ?? 10)));
    const f = this.def.filters;
    const base = {
      entityId,
      recommender: this.name,
      version: this.file.card.version,
      algorithm: this.file.card.algorithm,
    };
    const store = opts.store;
    if (this.needsStore && !store) {
      throw new TagverseError(
        'recs.needs_tags',
        `recommender '${this.name}' filters by tags: build and load them first`,
      );
    }
    const ordinal = store?.ordinal(entityId);
    if (f.eligibility !== undefined) {
      if (ordinal === undefined || !entityMatches(this.config, store!, ordinal, f.eligibility)) {
        return { ...base, eligible: false, coldStart: false, items: [] };
      }
    }
    const row = this.rowOf(entityId);
    const h = this.file.history;
    const from = row === undefined ? 0 : h.indptr[row]!;
    const to = row === undefined ? 0 : h.indptr[row + 1]!;
    const histItems = h.indices.subarray(from, to);
    const scores = scoreItems(this.file.model, histItems, h.values.subarray(from, to));
    const bought = new Set(histItems);
    const nowMs = opts.nowMs ?? (store ? store.info.asOfMicros / 1000 : Date.now());
    const due =
      store && ordinal !== undefined && f.repeat.length > 0
        ? this.dueItems(store, ordinal, nowMs)
        : new Map();
    const excluded = this.excludedItems();
    const items: RecommendedItem[] = [];
    const dueOrder = [...due.entries()]
      .filter(([i]) => excluded[i] === 0)
      .sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    for (const [i, dueMs] of dueOrder.slice(0, k)) {
      const days = Math.round((dueMs - nowMs) / DAY_MS);
      items.push({
        item: this.file.items[i]!,
        rank: items.length + 1,
        score: Number.isFinite(scores[i]!) ? scores[i]! : 0,
        reasons: [
          days < 0
            ? `repeat purchase overdue by ${-days} d`
            : days === 0
              ? 'repeat purchase due today'
              : `repeat purchase due in ${days} d`,
        ],
      });
    }
    const chosen = topK(
      scores,
      k - items.length,
      (i) => excluded[i] === 1 || due.has(i) || (f.excludeBought && bought.has(i)),
    );
    const cold = row === undefined || histItems.length === 0;
    for (const i of chosen) {
      items.push({
        item: this.file.items[i]!,
        rank: items.length + 1,
        score: scores[i]!,
        reasons: [
          cold
            ? 'popular'
            : bought.has(i)
              ? 'bought before'
              : `similar to ${histItems.length} item(s) bought`,
        ],
      });
    }
    return { ...base, eligible: true, coldStart: cold, items };
  }
}
