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
