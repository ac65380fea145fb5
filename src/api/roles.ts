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
  /** Event ingestion over HTTP (/v1/track, /v1/identify, /v1/batch): the only thing ingest keys do. */
  | 'events:write';

export const ROLE_PERMISSIONS: Readonly<Record<ApiRole, readonly Permission[]>> = {
  admin: ['profiles:read', 'tags:read', 'segments:read', 'segments:write', 'store:admin', 'events:write'],
  editor: ['profiles:read', 'tags:read', 'segments:read', 'segments:write'],
  viewer: ['profiles:read', 'tags:read', 'segments:read'],
  ingest: ['events:write'],
};

export function allows(role: ApiRole, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}
