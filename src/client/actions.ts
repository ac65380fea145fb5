/** Types of the recommendation and decision routes (src/offers/routes.ts), for the client. */
export interface Recommendations {
  readonly entityId: string;
  readonly recommender: string;
  readonly version: number;
  readonly algorithm: string;
  readonly eligible: boolean;
  readonly coldStart: boolean;
  readonly items: readonly { item: string; rank: number; score: number; reasons: readonly string[] }[];
}

export interface DecideInput {
  readonly entityId: string;
  readonly context?: {
    readonly time?: string;
    readonly timezone?: string;
    readonly channel?: string;
    readonly location?: { readonly lat: number; readonly lon: number } | { readonly city: string };
    readonly weather?: string;
    readonly [key: string]: unknown;
  };
  readonly limit?: number;
  readonly dryRun?: boolean;
}

export interface DecisionResult {
  readonly entityId: string;
  readonly decidedAt: string;
  readonly localTime: string;
  readonly offers: readonly {
    id: string;
    title: string;
    score: number;
    value: { kind: string; amount?: number; currency?: string };
    channels?: readonly string[];
    reasons: readonly string[];
    place?: { id: string; km: number; city?: string };
  }[];
  readonly considered: number;
  readonly eligible: number;
  readonly granted: boolean;
  readonly buildId: number;
}
