/**
 * What the server (and the CLI) act with: the project's trained recommenders and its offer engine,
 * loaded on first use and reloaded when their files change (recommender model files, offers/*.yaml;
 * looked at no more than once a second, `recheckMs`).
 * Reading places needs the warehouse once per catalog load; the caller passes how to get at it (the
 * API's warehouse gate serialises it with other warehouse reads).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ProjectConfig } from '../config/project.js';
import { loadRecsDefinitions } from '../recs/definition.js';
import { recsPath } from '../recs/model-file.js';
import type { Recommender } from '../recs/recommend.js';
import { loadRecommender } from '../recs/train.js';
import { ProjectError, TagverseError } from '../util/problems.js';
import { Warehouse } from '../warehouse/warehouse.js';
import { OfferEngine } from './decide.js';
import { loadOfferDefinitions, OFFERS_DIR } from './definition.js';
import { OfferLedger } from './ledger.js';
import { defaultPlacesSource, type Places, readPlaces } from './places.js';

export interface ActionServiceOptions {
  /** Runs a warehouse read (default: directly). */
  readonly warehouse?: <T>(fn: () => Promise<T>) => Promise<T>;
  readonly now?: () => number;
  /** The ledger (default: .tagverse/offers/ledger.jsonl). */
  readonly ledger?: OfferLedger;
  /**
   * How often to look at offers/*.yaml and the recommenders' model files for changes, in ms (default
   * 1000; 0: on every use). Looking is a directory listing and a stat per file, too much for every
   * decision at thousands per second.
   */
  readonly recheckMs?: number;
}

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

export class ActionService {
  private readonly recs = new Map<string, { at: number; r: Recommender; checkedAt: number }>();
  private engine?: { key: string; engine: OfferEngine };
  private loading?: Promise<OfferEngine>;
  private ledgerValue?: OfferLedger;
  /** When the offers' files were last looked at (epoch ms, the clock of `recheckMs`). */
  private offersCheckedAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly config: ProjectConfig,
    private readonly opts: ActionServiceOptions = {},
  ) {}

  get ledger(): OfferLedger {
    this.ledgerValue ??= this.opts.ledger ?? OfferLedger.forProject(this.config.engine.path);
    return this.ledgerValue;
  }

  /** A trained recommender (the only one when unnamed), reloaded when its model file changes. */
  recommender(name?: string): Recommender {
    let n = name;
    if (n === undefined) {
      const { recs } = loadRecsDefinitions(this.config.dir);
      if (recs.length !== 1) return loadRecommender(this.config, undefined); // throws the right error
      n = recs[0]!.input.name;
    }
    const cached = this.recs.get(n);
    const now = Date.now();
    if (cached && now - cached.checkedAt < this.recheckMs) return cached.r;
    const at = mtime(recsPath(this.config, n));
    if (cached && cached.at === at) {
      cached.checkedAt = now;
      return cached.r;
    }
    const r = loadRecommender(this.config, n);
    this.recs.set(n, { at, r, checkedAt: now });
    return r;
  }

  private get recheckMs(): number {
    return this.opts.recheckMs ?? 1000;
  }

  private offersKey(): string {
    const dir = path.join(this.config.dir, OFFERS_DIR);
    if (!existsSync(dir)) return 'none';
    return readdirSync(dir)
      .filter((f) => /\.ya?ml$/i.test(f))
      .sort()
      .map((f) => `${f}:${mtime(path.join(dir, f))}`)
      .join('|');
  }

  /** The offer engine for the current offers/*.yaml (places read from the warehouse on load). */
  async offers(): Promise<OfferEngine> {
    const now = Date.now();
    if (this.engine && now - this.offersCheckedAt < this.recheckMs) return this.engine.engine;
    const key = this.offersKey();
    if (this.engine?.key === key) {
      this.offersCheckedAt = now;
      return this.engine.engine;
    }
    if (this.loading) return this.loading;
    this.loading = this.load(key).finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(key: string): Promise<OfferEngine> {
    const { offers, problems } = loadOfferDefinitions(this.config.dir, this.config.timezone);
    const errors = problems.filter((p) => p.severity === 'error');
    if (errors.length > 0) throw new ProjectError(errors);
    if (offers.length === 0)
      throw new TagverseError('offers.none', 'the project has no offers (offers/*.yaml)');
    const needsPlaces = offers.some(
      (o) => o.input.target?.merchants || o.input.target?.categories || o.input.target?.match,
    );
    let places: Places | undefined;
    if (needsPlaces && existsSync(this.config.engine.path)) {
      const read = async () => {
        const wh = await Warehouse.open(this.config.engine.path, { readOnly: true });
        try {
          const source =
            offers.find((o) => o.input.places)?.input.places ?? (await defaultPlacesSource(wh, this.config));
          if (!source) return undefined;
          const wanted = [...new Set(offers.flatMap((o) => Object.keys(o.input.target?.match ?? {})))];
          return await readPlaces(wh, this.config, source, wanted);
        } finally {
          wh.close();
        }
      };
      places = await (this.opts.warehouse ? this.opts.warehouse(read) : read());
    }
    const engine = new OfferEngine({
      config: this.config,
      offers,
      ...(places ? { places } : {}),
      ledger: this.ledger,
      recommender: (n) => {
        try {
          return this.recommender(n);
        } catch {
          return undefined;
        }
      },
      ...(this.opts.now ? { now: this.opts.now } : {}),
    });
    this.engine = { key, engine };
    this.offersCheckedAt = Date.now();
    return engine;
  }
}
