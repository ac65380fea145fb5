/**
 * API keys: a key verifies to its principal, is remembered once verified, and anything else — a
 * wrong secret under a known id, an unknown id, a malformed key — is refused, before and after the
 * right key has been seen.
 */
import { describe, expect, it } from 'vitest';
import { generateKey, KeyRing } from '../../src/api/keys.js';

describe('KeyRing.verify', () => {
  const viewer = generateKey('viewer', 'dashboard');
  const admin = generateKey('admin');
  const ring = new KeyRing([viewer.record, admin.record]);
  const forged = `tvk_${viewer.record.id}_${'A'.repeat(43)}`;

  it('gives each valid key its principal, the same one every time', () => {
    const p = ring.verify(viewer.key);
    expect(p).toEqual({ keyId: viewer.record.id, role: 'viewer', name: 'dashboard' });
    expect(ring.verify(viewer.key)).toBe(p);
    expect(ring.verify(admin.key)).toEqual({ keyId: admin.record.id, role: 'admin' });
  });

  it('refuses a wrong secret under a known id, unknown ids and malformed keys, also after a valid key was seen', () => {
    expect(ring.verify(forged)).toBeUndefined();
    ring.verify(viewer.key);
    expect(ring.verify(forged)).toBeUndefined();
    expect(ring.verify(`${viewer.key}x`)).toBeUndefined();
    expect(ring.verify(generateKey('viewer').key)).toBeUndefined();
    expect(ring.verify('not a key')).toBeUndefined();
    expect(ring.verify('')).toBeUndefined();
  });

  it('a ring without the record refuses the key another ring verified', () => {
    expect(new KeyRing([admin.record]).verify(viewer.key)).toBeUndefined();
  });
});
