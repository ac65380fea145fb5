/**
 * The offers ledger: every grant (offer, entity, time, cost), appended to
 * `.tagverse/offers/ledger.jsonl` before the decision is answered, and replayed on start, so budgets,
 * capacities and frequency caps survive a restart.
 *
 * Atomicity: a decision checks caps and records its grants in one synchronous step (no await between
 * the check and the append), so two concurrent requests in one server can never both take the last
 * unit of a budget. One process writes a ledger: run one server per project (the CLI's `decide` is a
 * dry run unless told to grant).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface Grant {
  readonly offer: string;
  readonly entity: string;
  /** Epoch ms (server clock). */
  readonly t: number;
  readonly cost: number;
}

interface OfferUsage {
  grants: number;
  spent: number;
  /** Grant times per entity (pruned to the longest cap window on use). */
  readonly byEntity: Map<string, number[]>;
}

export class OfferLedger {
  private readonly usage = new Map<string, OfferUsage>();

  /** `file` undefined: in memory only (tests of the pure ranking). */
  constructor(readonly file?: string) {
    if (file && existsSync(file)) {
      const text = readFileSync(file, 'utf8');
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        try {
          this.apply(JSON.parse(line) as Grant);
        } catch {
          // A torn last line (crash mid-append) is skipped; every complete line counts.
        }
      }
    }
  }

  static forProject(engineFile: string): OfferLedger {
    const dir = path.join(path.dirname(engineFile), 'offers');
    mkdirSync(dir, { recursive: true });
    return new OfferLedger(path.join(dir, 'ledger.jsonl'));
  }

  private usageOf(offer: string): OfferUsage {
    let u = this.usage.get(offer);
    if (!u) {
      u = { grants: 0, spent: 0, byEntity: new Map() };
      this.usage.set(offer, u);
    }
    return u;
  }

  private apply(g: Grant): void {
    const u = this.usageOf(g.offer);
    u.grants++;
    u.spent += g.cost;
    const list = u.byEntity.get(g.entity);
    if (list) list.push(g.t);
    else u.byEntity.set(g.entity, [g.t]);
  }

  grants(offer: string): number {
    return this.usage.get(offer)?.grants ?? 0;
  }

  spent(offer: string): number {
    return this.usage.get(offer)?.spent ?? 0;
  }

  /** Grants of an offer to an entity after `sinceMs`. */
  recentGrants(offer: string, entity: string, sinceMs: number): number {
    const list = this.usage.get(offer)?.byEntity.get(entity);
    if (!list) return 0;
    let n = 0;
    for (const t of list) if (t > sinceMs) n++;
    return n;
  }

  /** Record grants: written to the file first (synchronously), then counted. */
  record(grants: readonly Grant[]): void {
    if (grants.length === 0) return;
    if (this.file) appendFileSync(this.file, grants.map((g) => `${JSON.stringify(g)}\n`).join(''));
    for (const g of grants) this.apply(g);
  }
}
