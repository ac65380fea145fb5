/**
 * API keys: `tvk_<id>_<secret>`. Only a salted SHA-256 of each key is stored (in tagverse.yaml under
 * `api.keys`, or in the TAGVERSE_API_KEYS environment variable); the key itself is shown once, when it
 * is created. Keys carry 256 random bits, so a fast hash is safe (nothing can be guessed through it);
 * the id inside the key picks the one record to compare with, in constant time, and a key once
 * verified is remembered by the ring (KeyRing.verify), so a request pays a map lookup.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import YAML from 'yaml';
import { type ApiKeyRecord, loadProject, type ProjectConfig } from '../config/project.js';
import { API_ROLES, type ApiRole } from '../config/schema.js';
import { ProjectError, TagverseError } from '../util/problems.js';

/** Verified keys a ring remembers (more valid keys than this in use: it starts over). */
const VERIFIED_MAX = 10_000;

const KEY_PATTERN = /^tvk_([a-z0-9]{6,32})_([A-Za-z0-9_-]{20,128})$/;

/** Who made a request: the key's id and role. */
export interface Principal {
  readonly keyId: string;
  readonly role: ApiRole;
  readonly name?: string;
}

export function hashKey(key: string, salt: string = randomBytes(16).toString('base64url')): string {
  const digest = createHash('sha256').update(`${salt}:${key}`).digest('hex');
  return `sha256$${salt}$${digest}`;
}

function matches(key: string, hash: string): boolean {
  const [scheme, salt, digest] = hash.split('$');
  if (scheme !== 'sha256' || !salt || !digest || digest.length !== 64) return false;
  const expected = Buffer.from(digest, 'hex');
  const actual = createHash('sha256').update(`${salt}:${key}`).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** A new key and the record to store for it. */
export function generateKey(
  role: ApiRole,
  name?: string,
  now: Date = new Date(),
): { key: string; record: ApiKeyRecord } {
  const id = randomBytes(6).toString('hex');
  const key = `tvk_${id}_${randomBytes(32).toString('base64url')}`;
  return {
    key,
    record: { id, role, hash: hashKey(key), ...(name ? { name } : {}), createdAt: now.toISOString() },
  };
}

/**
 * Key records from TAGVERSE_API_KEYS: entries `<id>:<role>:<hash>` separated by commas, spaces or
 * newlines (hashes as `tagverse keys create --print-only` prints them).
 */
export function keysFromEnv(text: string | undefined): ApiKeyRecord[] {
  if (!text || text.trim() === '') return [];
  return text
    .split(/[\s,]+/)
    .filter((s) => s !== '')
    .map((entry) => {
      const [id, role, hash] = entry.split(':');
      if (
        !id ||
        !role ||
        !hash ||
        !(API_ROLES as readonly string[]).includes(role) ||
        !hash.startsWith('sha256$')
      ) {
        throw new TagverseError(
          'keys.bad_env',
          `TAGVERSE_API_KEYS: cannot read '${entry.slice(0, 40)}'; expected <id>:<role>:sha256$<salt>$<hex> with role one of ${API_ROLES.join(', ')}`,
        );
      }
      return { id, role: role as ApiRole, hash };
    });
}

/** The keys a server accepts, looked up by the id inside the presented key. */
export class KeyRing {
  private readonly byId: Map<string, ApiKeyRecord>;
  /**
   * Keys already verified, with their principal: a client sends the same key on every request, and
   * hashing it each time was a measurable share of a profile lookup. Only valid keys are kept (a
   * stream of made-up keys cannot grow it), at most VERIFIED_MAX; a ring never changes, so an entry
   * stays true for the ring's life.
   */
  private readonly verified = new Map<string, Principal>();

  constructor(records: readonly ApiKeyRecord[]) {
    this.byId = new Map(records.map((r) => [r.id, r]));
  }

  get size(): number {
    return this.byId.size;
  }

  /** The principal of a presented key, or undefined when it is not a valid key. */
  verify(key: string): Principal | undefined {
    const known = this.verified.get(key);
    if (known) return known;
    const m = KEY_PATTERN.exec(key);
    if (!m) return undefined;
    const rec = this.byId.get(m[1]!);
    if (!rec || !matches(key, rec.hash)) return undefined;
    const p: Principal = { keyId: rec.id, role: rec.role, ...(rec.name ? { name: rec.name } : {}) };
    if (this.verified.size >= VERIFIED_MAX) this.verified.clear();
    this.verified.set(key, p);
    return p;
  }
}

function editConfig(config: ProjectConfig, edit: (doc: YAML.Document) => void): void {
  const doc = YAML.parseDocument(readFileSync(config.file, 'utf8'));
  edit(doc);
  const tmp = `${config.file}.${process.pid}.tmp`;
  writeFileSync(tmp, doc.toString());
  // Refuse to leave a config that no longer loads.
  const dir = config.dir;
  renameSync(config.file, `${config.file}.bak`);
  renameSync(tmp, config.file);
  const check = loadProject(dir);
  if (!check.config) {
    renameSync(`${config.file}.bak`, config.file);
    throw new ProjectError(check.problems);
  }
  rmSync(`${config.file}.bak`);
}

/**
 * Create a key for a role, store its hash in the project's tagverse.yaml and return the key (the only
 * time it is shown).
 * @example
 *   const { key } = createApiKey(requireProject('.'), 'viewer', 'dashboard');
 */
export function createApiKey(
  config: ProjectConfig,
  role: ApiRole,
  name?: string,
): { key: string; record: ApiKeyRecord } {
  if (!(API_ROLES as readonly string[]).includes(role)) {
    throw new TagverseError('keys.bad_role', `unknown role '${role}' (roles: ${API_ROLES.join(', ')})`);
  }
  const created = generateKey(role, name);
  editConfig(config, (doc) => {
    const entry = {
      id: created.record.id,
      role,
      hash: created.record.hash,
      ...(name ? { name } : {}),
      created_at: created.record.createdAt,
    };
    if (!doc.hasIn(['api', 'keys'])) doc.setIn(['api', 'keys'], doc.createNode([]));
    doc.addIn(['api', 'keys'], doc.createNode(entry));
  });
  return created;
}

/** Remove a key from tagverse.yaml. */
export function revokeApiKey(config: ProjectConfig, id: string): void {
  const index = config.api.keys.findIndex((k) => k.id === id);
  if (index < 0) throw new TagverseError('keys.not_found', `no API key '${id}' in ${config.file}`);
  editConfig(config, (doc) => {
    doc.deleteIn(['api', 'keys', index]);
  });
}
