/**
 * What each role may do. Every /v1 route names the one permission it needs; a key's role grants a
 * fixed set. The table is data so the docs and the auth-matrix test read the same thing.
 */
import type { ApiRole } from '../config/schema.js';

export type Permission =
  | 'profiles:read'
  | 'tags:read'
  | 'segments:read'
  | 'segments:write'
  | 'store:admin'
  /** Recommendations (GET /v1/recommendations/{id}): read-only. */
  | 'recs:read'
  /** Decisions (POST /v1/decide): they use offer budgets and frequency caps, so not for viewers. */
  | 'offers:decide'
  /** Event ingestion over HTTP (/v1/track, /v1/identify, /v1/batch): the only thing ingest keys do. */
  | 'events:write';

export const ROLE_PERMISSIONS: Readonly<Record<ApiRole, readonly Permission[]>> = {
  admin: [
    'profiles:read',
    'tags:read',
    'segments:read',
    'segments:write',
    'store:admin',
    'events:write',
    'recs:read',
    'offers:decide',
  ],
  editor: ['profiles:read', 'tags:read', 'segments:read', 'segments:write', 'recs:read', 'offers:decide'],
  viewer: ['profiles:read', 'tags:read', 'segments:read', 'recs:read'],
  ingest: ['events:write'],
};

export function allows(role: ApiRole, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}
