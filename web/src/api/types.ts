/**
 * Shapes of the console routes (src/api/console-schemas.ts) as plain types, like src/client/types.ts
 * does for the rest of the API: the bundle must not pull the server's dependencies.
 * test/console/routes.test.ts checks they match the server's schemas.
 */

export type Role = 'admin' | 'editor' | 'viewer' | 'ingest';

export interface Me {
  keyId: string;
  name?: string;
  role: Role;
  permissions: string[];
}

export interface SourceStatus {
  name: string;
  kind: 'events' | 'profile' | 'lookup';
  description?: string;
  rows: number;
  rejected: number;
  rejectsByKind: { kind: string; count: number }[];
  files: number;
  lastLoadedAt: string | null;
  firstEventAt?: string | null;
  lastEventAt?: string | null;
}

export interface Sources {
  sources: SourceStatus[];
  loads: {
    loadId: number;
    startedAt: string;
    finishedAt: string;
    sources: string[];
    filesLoaded: number;
    rowsLoaded: number;
    rowsRejected: number;
  }[];
}

export interface Builds {
  builds: {
    buildId: number;
    asOf: string;
    startedAt: string;
    finishedAt: string;
    durationMs: number;
    tags: number;
    entities: number;
  }[];
}

export interface TagHistory {
  tag: string;
  versions: {
    version: number;
    hash: string;
    recordedAt: string;
    buildId: number;
    definition: Record<string, unknown>;
  }[];
  coverage: { at: string; entities: number; nonNull: number; true?: number }[];
}

export interface LineageNode {
  name: string;
  title: string;
  category: string;
  kind: string;
  type: string;
  status: string;
  depth: number;
}

export interface Lineage {
  tag: string;
  nodes: LineageNode[];
  edges: { from: string; to: string }[];
}

export interface EntityEvents {
  entityId: string;
  source: string;
  sources: string[];
  timeColumn: string;
  columns: { name: string; type: string }[];
  total: number;
  events: Record<string, unknown>[];
}

export interface Attribute {
  name: string;
  source: string;
  column: string;
  type: string;
  nonNull: number;
  values?: { value: string; count: number }[];
  min?: number | string | null;
  max?: number | string | null;
}

export interface Attributes {
  attributes: Attribute[];
}

export interface ModelSummary {
  name: string;
  title: string;
  description: string;
  algorithm: string;
  file: string;
  state: 'untrained' | 'trained' | 'stale';
  version?: number;
  trainedAt?: string;
  objective?: 'binary' | 'regression';
  auc?: number | null;
  prAuc?: number | null;
  rmse?: number | null;
  rows?: number;
  features?: number;
  tags: string[];
}

export interface Models {
  models: ModelSummary[];
  problems: string[];
}

export interface GainsRow {
  decile: number;
  count: number;
  minScore: number | null;
  rate: number | null;
  cumulativeGain: number | null;
  lift: number | null;
  cumulativeLift: number | null;
}

export interface ModelCard {
  name: string;
  version: number;
  trainedAt: string;
  algorithm: string;
  objective: 'binary' | 'regression';
  mode: 'point_in_time' | 'static';
  label: { text: string; from?: string; where?: string; horizon?: string };
  filter: string | null;
  cutoffs: string[];
  rows: {
    total: number;
    train: number;
    validation: number;
    byCutoff: { cutoff: string; rows: number; labelMean: number | null }[];
    unlabelled: number;
  };
  validation: { method: 'last_cutoff' | 'holdout'; cutoff?: string; holdout?: number };
  metrics: {
    kind: 'binary' | 'regression';
    rows: number;
    positives?: number;
    baseRate?: number | null;
    auc?: number | null;
    prAuc?: number | null;
    logLoss?: number | null;
    brier?: number | null;
    mean?: number | null;
    rmse?: number | null;
    mae?: number | null;
    r2?: number | null;
    bestF1?: {
      threshold?: number | null;
      precision?: number | null;
      recall?: number | null;
      f1?: number | null;
    };
    calibration?: { bin: number; count: number; meanPredicted: number | null; observedRate: number | null }[];
    gains: GainsRow[];
  };
  comparison?: {
    name: string;
    auc: number | null;
    prAuc: number | null;
    threshold: number | null;
    f1: number | null;
    precision: number | null;
    recall: number | null;
  }[];
  topFeatures: { name: string; importance: number | null; share: number | null }[];
  features: string[];
  warnings: string[];
}

export interface ModelInfo extends ModelSummary {
  category?: string;
  owner?: string;
  status?: string;
}

export interface ModelDetail {
  model: ModelInfo;
  card: ModelCard | null;
  roc: { fpr: number; tpr: number }[];
}

export interface Actions {
  recommenders: { name: string; trained: boolean }[];
  offers: number;
}

/** GET /v1/recommendations/{id} (src/offers/routes.ts). */
export interface Recommendations {
  entityId: string;
  recommender: string;
  version: number;
  algorithm: string;
  eligible: boolean;
  coldStart: boolean;
  items: { item: string; rank: number; score: number; reasons: string[] }[];
}

/** POST /v1/decide (src/offers/routes.ts). */
export interface Decision {
  entityId: string;
  decidedAt: string;
  localTime: string;
  offers: {
    id: string;
    title: string;
    score: number;
    value: { kind: string; amount?: number; currency?: string };
    channels?: string[];
    reasons: string[];
    place?: { id: string; km: number; city?: string };
  }[];
  considered: number;
  eligible: number;
  granted: boolean;
  buildId: number;
}
