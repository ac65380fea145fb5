/**
 * Shapes of the API's responses and requests, as plain types (no runtime code): the client must not
 * pull the server's dependencies. test/api/client.test.ts checks they match the server's zod schemas.
 */

export interface Problem {
  type: string;
  title: string;
  status: number;
  /** Stable machine-readable code, e.g. `segment.invalid`, `auth.forbidden`, `rate_limited`. */
  code: string;
  detail: string;
  field?: string;
  problems?: { start: number; end: number; line: number; col: number; message: string }[];
}

export interface ProfileTag {
  name: string;
  title: string;
  type: string;
  value: unknown;
}

export interface Profile {
  entityId: string;
  asOf: string;
  source: 'current' | 'history';
  buildId?: number;
  categories: Record<string, ProfileTag[]>;
}

export interface Evidence {
  entityId: string;
  tag: {
    name: string;
    title: string;
    description: string;
    category: string;
    type: string;
    kind: string;
    source?: string;
  };
  asOf: string;
  value: unknown;
  reason: string;
  aggregates: {
    call: string;
    value: unknown;
    window: { text: string; from?: string; to: string };
    events: { eventId: string; ts: string; value: unknown; label?: unknown }[];
  }[];
  inputs: { name: string; kind: 'tag' | 'profile'; value: unknown }[];
  /** Model tags: each feature's contribution to the entity's margin (log-odds for binary models). */
  model?: {
    model: string;
    version: number;
    algorithm: string;
    method: 'treeshap' | 'coefficient_x_standardised_value';
    objective: 'binary' | 'regression';
    expected: number;
    margin: number;
    score: number | null;
    filtered: boolean;
    contributions: { feature: string; value: number | string | null; contribution: number }[];
  };
}

export interface TagCoverage {
  nonNull: number;
  trueShare?: number;
  mean?: number;
  distinct?: number;
  top?: string | null;
}

export interface TagSummary {
  name: string;
  title: string;
  description: string;
  category: string;
  owner: string;
  status: string;
  type: string;
  kind: string;
  version: string;
  coverage: TagCoverage;
}

export type Distribution =
  | { kind: 'boolean'; true: number; false: number; null: number }
  | {
      kind: 'histogram';
      min: number | string | null;
      max: number | string | null;
      bins: { from: number | string; to: number | string; count: number }[];
      null: number;
    }
  | { kind: 'top_values'; values: { value: string; count: number }[]; distinct: number; null: number };

export interface TagDetail extends TagSummary {
  dependsOn: string[];
  definition: Record<string, unknown>;
  buildId: number;
  entities: number;
  distribution: Distribution;
}

export interface SegmentPreview {
  expression: string;
  count: number;
  total: number;
  share: number;
  sample: string[];
  elapsedMs: number;
  buildId: number;
}

export interface SaveSegmentRequest {
  name: string;
  expression: string;
  description?: string;
  owner?: string;
}

export interface SavedSegment {
  name: string;
  expression: string;
  description?: string;
  owner?: string;
  createdAt?: string;
  updatedAt?: string;
  file: string;
}

export interface SegmentWithCount extends SavedSegment {
  count: number;
  elapsedMs: number;
  buildId: number;
}

export interface SegmentList {
  segments: SavedSegment[];
  problems: string[];
}

export interface MemberPage {
  ids: string[];
  next?: string;
  count: number;
  buildId: number;
}

export interface Overlap {
  segments: { name: string; count: number }[];
  matrix: number[][];
  all: number;
  any: number;
  elapsedMs: number;
  buildId: number;
}

export interface StoreStatus {
  project: string;
  entityName: string;
  entities: number;
  tags: number;
  buildId: number;
  asOf: string;
  loadedFrom: 'warehouse' | 'snapshot';
  loadedAt: string;
  loadMs: number;
  reloads: number;
  lastReloadError?: string;
}

export interface ReloadResult {
  reloaded: boolean;
  buildId: number;
  entities: number;
  ms: number;
}
