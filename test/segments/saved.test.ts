import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, hashKey, KeyRing, keysFromEnv, revokeApiKey } from '../../src/api/keys.js';
import { requireProject } from '../../src/config/project.js';
import { querySegment } from '../../src/segments/query.js';
import { deleteSegment, getSavedSegment, listSavedSegments, saveSegment } from '../../src/segments/saved.js';
import { builtFixture } from '../online/fixture.js';

let dir: string;
beforeAll(async () => {
  dir = await builtFixture();
});

describe('saved segments', () => {
  it('are segments/<name>.yaml files, created, replaced, listed and deleted', () => {
    const config = requireProject(dir);
    const a = saveSegment(
      config,
      { name: 'vips', expression: 'vip', description: 'VIP customers' },
      () => new Date('2025-01-01T00:00:00Z'),
    );
    expect(a.created).toBe(true);
    expect(readFileSync(path.join(dir, 'segments/vips.yaml'), 'utf8')).toContain('expression: vip');
    const b = saveSegment(
      config,
      { name: 'vips', expression: 'vip and big_spender' },
      () => new Date('2025-02-01T00:00:00Z'),
    );
    expect(b.created).toBe(false);
    expect(b.segment.createdAt).toBe('2025-01-01T00:00:00.000Z');
    expect(getSavedSegment(config, 'vips').expression).toBe('vip and big_spender');
    writeFileSync(
      path.join(dir, 'segments/team.yaml'),
      '- name: loyal\n  expression: txn_count > 10\n- name: bad name\n  expression: vip\n',
    );
    const all = listSavedSegments(config);
    expect(all.segments.map((s) => s.name)).toEqual(['loyal', 'vips']);
    expect(all.problems[0]).toMatch(/segments\/team.yaml: .*lower_snake_case/);
    expect(() => deleteSegment(config, 'loyal')).toThrow(/holds several segments/);
    expect(() => getSavedSegment(config, 'vip')).toThrow(/no saved segment 'vip' \(did you mean 'vips'\?\)/);
    deleteSegment(config, 'vips');
    expect(listSavedSegments(config).segments.map((s) => s.name)).toEqual(['loyal']);
  });

  it('tagverse segment counts, exports CSV and JSONL, and saves', async () => {
    const csv = path.join(dir, 'out.csv');
    const r = await querySegment(dir, "big_spender and region in ('Seoul', 'Busan')", {
      exportFile: csv,
      saveAs: 'seoul_busan_big',
    });
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('entity_id');
    expect(lines).toHaveLength(r.count + 1);
    expect(r.saved?.name).toBe('seoul_busan_big');
    const jsonl = path.join(dir, 'out.jsonl');
    const again = await querySegment(dir, undefined, { saved: 'seoul_busan_big', exportFile: jsonl });
    expect(again.count).toBe(r.count);
    expect(
      readFileSync(jsonl, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).entity_id),
    ).toEqual(lines.slice(1));
    await expect(querySegment(dir, 'vip', { exportFile: 'x.xlsx' })).rejects.toThrow(/\.csv or \.jsonl/);
  });
});

describe('API keys', () => {
  it('are stored hashed in tagverse.yaml, verified, and revoked', () => {
    const config = requireProject(dir);
    const { key, record } = createApiKey(config, 'editor', 'crm');
    const text = readFileSync(path.join(dir, 'tagverse.yaml'), 'utf8');
    expect(text).not.toContain(key);
    expect(text).toContain(record.hash);
    const reloaded = requireProject(dir);
    const ring = new KeyRing(reloaded.api.keys);
    expect(ring.verify(key)).toMatchObject({ keyId: record.id, role: 'editor', name: 'crm' });
    expect(ring.verify(`${key}x`)).toBeUndefined();
    expect(ring.verify(key.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')))).toBeUndefined();
    expect(ring.verify('Bearer nonsense')).toBeUndefined();
    revokeApiKey(reloaded, record.id);
    expect(new KeyRing(requireProject(dir).api.keys).verify(key)).toBeUndefined();
  });

  it('can come from TAGVERSE_API_KEYS', () => {
    const key = 'tvk_abc123_0123456789abcdefghijklmnop';
    const ring = new KeyRing(keysFromEnv(`abc123:viewer:${hashKey(key)}`));
    expect(ring.verify(key)?.role).toBe('viewer');
    expect(() => keysFromEnv('abc123:boss:sha256$x$y')).toThrow(/TAGVERSE_API_KEYS/);
  });
});
