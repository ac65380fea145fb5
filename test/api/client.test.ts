/**
 * The typed client against a running server: every route through its method, errors as
 * TagverseApiError with the problem's code and positions; and its types match the server's schemas.
 */
import type { z } from '@hono/zod-openapi';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { createApiKey } from '../../src/api/keys.js';
import type * as S from '../../src/api/schemas.js';
import { type RunningServer, startServer } from '../../src/api/server.js';
import * as C from '../../src/client/index.js';
import { requireProject } from '../../src/config/project.js';
import { builtFixture } from '../online/fixture.js';

let server: RunningServer;
let admin: C.TagverseClient;
let viewer: C.TagverseClient;

beforeAll(async () => {
  const dir = await builtFixture();
  // Keys written to tagverse.yaml (hashed), as `tagverse keys create` does.
  const adminKey = createApiKey(requireProject(dir), 'admin', 'client test').key;
  const viewerKey = createApiKey(requireProject(dir), 'viewer').key;
  server = await startServer(dir, { port: 0, watch: false, env: {} });
  admin = new C.TagverseClient({ baseUrl: server.url, apiKey: adminKey });
  viewer = new C.TagverseClient({ baseUrl: server.url, apiKey: viewerKey });
});
afterAll(async () => {
  await server?.close();
});

describe('TagverseClient', () => {
  it('covers every route', async () => {
    expect((await viewer.health()).ok).toBe(true);
    expect((await viewer.ready()).entities).toBe(400);
    expect(await viewer.metrics()).toContain('tagverse_store_entities 400');
    expect((await viewer.openapi()).openapi).toBe('3.1.0');
    expect((await viewer.store()).entities).toBe(400);

    const p = await viewer.profile('C0001', { tags: ['spend_90d'] });
    expect(p.categories.behavior?.[0]?.name).toBe('spend_90d');
    expect((await viewer.profile('C0001', { category: 'condition' })).categories.condition).toHaveLength(2);
    expect((await viewer.profile('C0001', { asOf: '2025-07-15' })).source).toBe('history');
    expect((await viewer.explain('C0001', 'big_spender')).tag.name).toBe('big_spender');

    const tags = await viewer.tags({ category: 'preference' });
    expect(tags.map((t) => t.name)).toEqual([
      'online_share',
      'online_lover',
      'favourite_category',
      'top_categories',
    ]);
    expect((await viewer.tag('big_spender')).distribution.kind).toBe('boolean');

    const pv = await viewer.previewSegment('big_spender or vip', { sample: 2 });
    expect(pv.sample).toHaveLength(2);
    const saved = await admin.saveSegment({
      name: 'big_or_vip',
      expression: 'big_spender or vip',
      description: 'test',
    });
    expect(saved.file).toBe('segments/big_or_vip.yaml');
    expect((await viewer.listSegments()).segments.map((s) => s.name)).toContain('big_or_vip');
    const seg = await viewer.segment('big_or_vip');
    expect(seg.count).toBe(pv.count);
    const ids: string[] = [];
    for await (const id of viewer.allMembers('big_or_vip', 50)) ids.push(id);
    expect(ids).toHaveLength(pv.count);
    expect((await viewer.members('big_or_vip', { limit: 10 })).ids).toEqual(ids.slice(0, 10));
    let csv = '';
    for await (const chunk of viewer.exportMembers('big_or_vip', 'csv')) csv += chunk;
    expect(csv.trim().split('\n').slice(1)).toEqual(ids);
    let jsonl = '';
    for await (const chunk of viewer.exportMembers('big_or_vip', 'jsonl', { limit: 3 })) jsonl += chunk;
    expect(jsonl.trim().split('\n')).toHaveLength(3);
    const o = await viewer.overlap({
      segments: ['big_or_vip'],
      expressions: [{ name: 'vip', expression: 'vip' }],
    });
    expect(o.any).toBe(pv.count);
    expect((await admin.reload()).reloaded).toBe(false);
    expect((await admin.reload({ force: true })).reloaded).toBe(true);
    await admin.deleteSegment('big_or_vip');
    expect((await viewer.listSegments()).segments.map((s) => s.name)).not.toContain('big_or_vip');
  });

  it('raises TagverseApiError with the problem', async () => {
    const e1 = await viewer.previewSegment('vip and spend_9d > 1').catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(C.TagverseApiError);
    expect(e1).toMatchObject({ status: 400, code: 'segment.invalid', field: 'expression' });
    expect((e1 as C.TagverseApiError).problems?.[0]).toMatchObject({ start: 8, col: 9 });
    await expect(viewer.saveSegment({ name: 'x', expression: 'vip' })).rejects.toMatchObject({
      status: 403,
      code: 'auth.forbidden',
    });
    await expect(viewer.profile('nobody')).rejects.toMatchObject({
      status: 404,
      code: 'profile.unknown_entity',
    });
    const anonymous = new C.TagverseClient({ baseUrl: server.url });
    await expect(anonymous.tags()).rejects.toMatchObject({ status: 401, code: 'auth.missing_key' });
    const down = new C.TagverseClient({ baseUrl: 'http://127.0.0.1:1', apiKey: 'x' });
    await expect(down.health()).rejects.toMatchObject({ status: 0, code: 'client.network' });
  });

  it('has the types the server validates and documents', () => {
    expectTypeOf<z.infer<typeof S.ProfileSchema>>().toMatchTypeOf<C.Profile>();
    expectTypeOf<z.infer<typeof S.EvidenceSchema>>().toMatchTypeOf<C.Evidence>();
    expectTypeOf<z.infer<typeof S.TagSummarySchema>>().toMatchTypeOf<C.TagSummary>();
    expectTypeOf<z.infer<typeof S.TagDetailSchema>>().toMatchTypeOf<C.TagDetail>();
    expectTypeOf<z.infer<typeof S.PreviewSchema>>().toMatchTypeOf<C.SegmentPreview>();
    expectTypeOf<z.infer<typeof S.SaveSegmentBody>>().toMatchTypeOf<C.SaveSegmentRequest>();
    expectTypeOf<C.SaveSegmentRequest>().toMatchTypeOf<z.input<typeof S.SaveSegmentBody>>();
    expectTypeOf<z.infer<typeof S.SavedSegmentSchema>>().toMatchTypeOf<C.SavedSegment>();
    expectTypeOf<z.infer<typeof S.SegmentWithCountSchema>>().toMatchTypeOf<C.SegmentWithCount>();
    expectTypeOf<z.infer<typeof S.SegmentListSchema>>().toMatchTypeOf<C.SegmentList>();
    expectTypeOf<z.infer<typeof S.MemberPageSchema>>().toMatchTypeOf<C.MemberPage>();
    expectTypeOf<z.infer<typeof S.OverlapSchema>>().toMatchTypeOf<C.Overlap>();
    expectTypeOf<z.infer<typeof S.StoreStatusSchema>>().toMatchTypeOf<C.StoreStatus>();
    expectTypeOf<z.infer<typeof S.ReloadSchema>>().toMatchTypeOf<C.ReloadResult>();
    expectTypeOf<z.infer<typeof S.ProblemSchema>>().toMatchTypeOf<C.Problem>();
  });
});
