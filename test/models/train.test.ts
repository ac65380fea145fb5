/**
 * Models on a small synthetic card world: point-in-time training sets, time-based validation, the
 * model card, versioned model files, and the published tags <model>_score / <model>_decile seen by
 * build, profiles, the catalog, the online store, segments and explain.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireProject } from '../../src/config/project.js';
import { build } from '../../src/engine/build.js';
import { listTags } from '../../src/engine/catalog.js';
import { explain } from '../../src/engine/explain.js';
import { profile } from '../../src/engine/profile.js';
import { evaluateModel, listModels } from '../../src/models/evaluate.js';
import { modelPath, readModelFile } from '../../src/models/model-file.js';
import { trainModel } from '../../src/models/train.js';
import { querySegment } from '../../src/segments/query.js';
import { ProjectError } from '../../src/util/problems.js';
import { query } from '../helpers.js';
import { cardWorld, writeModel } from './card-world.js';

const CHURN = `name: churn
description: No card payment in the 45 days after the cutoff.
category: condition
label:
  from: transactions
  value: count() = 0
  horizon: 45d
filter: active
features:
  categories: [behavior, preference]
  profile: [customers.age_band, customers.card_product]
cutoffs: [2025-04-30, 2025-05-31, 2025-06-30]
params: { trees: 200, learning_rate: 0.1, max_depth: 4 }
seed: 3
`;

let dir: string;
let wh: string;

beforeAll(async () => {
  dir = await cardWorld(1500, 8, 11);
  wh = path.join(dir, '.tagverse/warehouse.duckdb');
  writeModel(dir, 'churn', CHURN);
}, 180_000);

describe('tagverse train', () => {
  it('stacks rows from every cutoff, validates on the last one, and beats chance clearly', async () => {
    const r = await trainModel(dir, 'churn');
    const c = r.card;
    expect(c.mode).toBe('point_in_time');
    expect(c.cutoffs.map((x) => x.slice(0, 10))).toEqual(['2025-04-30', '2025-05-31', '2025-06-30']);
    expect(c.rows.byCutoff).toHaveLength(3);
    expect(c.validation).toEqual({ method: 'last_cutoff', cutoff: c.cutoffs[2] });
    expect(c.rows.validation).toBe(c.rows.byCutoff[2]!.rows);
    expect(c.rows.train).toBe(c.rows.byCutoff[0]!.rows + c.rows.byCutoff[1]!.rows);
    expect(c.metrics.kind).toBe('binary');
    if (c.metrics.kind !== 'binary') return;
    expect(c.metrics.auc).toBeGreaterThan(0.8);
    expect(c.metrics.gains[0]!.lift).toBeGreaterThan(3);
    expect(c.topFeatures[0]!.share).toBeGreaterThan(0);
    expect(c.features).toContain('customers.card_product');
    expect(c.warnings.join(' ')).toMatch(/profile attributes are read as they are now/);
    expect(c.version).toBe(1);
    expect(existsSync(modelPath(requireProject(dir), 'churn'))).toBe(true);
    expect(r.published?.entities).toBe(1500);
  });

  it('publishes <model>_score and <model>_decile in tags.current, deciles ranking the active customers', async () => {
    const rows = await query<{ d: number | null; n: number; lo: number; hi: number }>(
      wh,
      `SELECT churn_decile AS d, count(*)::INTEGER AS n, min(churn_score) AS lo, max(churn_score) AS hi
       FROM tags.current GROUP BY 1 ORDER BY 1 NULLS LAST`,
    );
    const scored = rows.filter((r) => r.d !== null);
    expect(scored.map((r) => r.d)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Decile 1 holds the highest scores.
    for (let i = 1; i < scored.length; i++) expect(scored[i - 1]!.lo).toBeGreaterThanOrEqual(scored[i]!.hi);
    const [inactive] = await query<{ n: number; scored: number }>(
      wh,
      'SELECT count(*)::INTEGER AS n, count(churn_score)::INTEGER AS scored FROM tags.current WHERE NOT active',
    );
    expect(inactive!.scored).toBe(0); // the filter leaves them out
  });

  it('build re-scores the model tags and records them like any tag (catalog, history, profile)', async () => {
    const before = await query<{ id: string; s: number }>(
      wh,
      'SELECT entity_id AS id, churn_score AS s FROM tags.current ORDER BY 1',
    );
    const r = await build(dir);
    expect(r.tags.map((t) => t.name)).toEqual(expect.arrayContaining(['churn_score', 'churn_decile']));
    const after = await query<{ id: string; s: number }>(
      wh,
      'SELECT entity_id AS id, churn_score AS s FROM tags.current ORDER BY 1',
    );
    expect(after).toEqual(before);
    const catalog = await listTags(dir);
    const score = catalog.find((t) => t.name === 'churn_score')!;
    expect(score).toMatchObject({ kind: 'model', type: 'number', category: 'condition' });
    expect(score.dependsOn).toEqual(expect.arrayContaining(['spend_90d', 'active']));
    const decile = catalog.find((t) => t.name === 'churn_decile')!;
    expect(decile.companionOf).toBe('churn_score');
    const history = await query<{ n: number }>(
      wh,
      `SELECT count(*)::INTEGER AS n FROM tags.history WHERE tag = 'churn_score'`,
    );
    expect(history[0]!.n).toBeGreaterThan(1000);
    const p = await profile(dir, 'C0000007');
    expect(p.categories.condition!.map((t) => t.name)).toEqual(
      expect.arrayContaining(['churn_score', 'churn_decile']),
    );
  });

  it('serves the model tags in the online store, and segments select by them', async () => {
    const seg = await querySegment(dir, 'churn_decile <= 2 and active');
    const [expected] = await query<{ n: number }>(
      wh,
      'SELECT count(*)::INTEGER AS n FROM tags.current WHERE churn_decile <= 2 AND active',
    );
    expect(seg.count).toBe(expected!.n);
    expect(seg.count).toBeGreaterThan(0);
  });

  it('explain: TreeSHAP contributions add up to the stored score', async () => {
    const [row] = await query<{ id: string; s: number }>(
      wh,
      'SELECT entity_id AS id, churn_score AS s FROM tags.current WHERE churn_decile = 1 ORDER BY 1 LIMIT 1',
    );
    const ev = await explain(dir, row!.id, 'churn_score');
    const x = ev.model!;
    expect(x.method).toBe('treeshap');
    expect(ev.value).toBeCloseTo(row!.s, 12);
    const sum = x.contributions.reduce((s, c) => s + c.contribution, x.expected);
    expect(sum).toBeCloseTo(x.margin, 9);
    expect(1 / (1 + Math.exp(-x.margin))).toBeCloseTo(row!.s, 12);
    expect(ev.reason).toMatch(/^score 0\.\d+: log-odds/);
    const d = await explain(dir, row!.id, 'churn_decile');
    expect(d.value).toBe(1);
  });

  it('evaluate: the card, and a backtest at a later cutoff the model never saw', async () => {
    const e = await evaluateModel(dir, 'churn', { cutoffs: ['2025-07-15'] });
    expect(e.stale).toBe(false);
    expect(e.backtest!.cutoffs[0]!.slice(0, 10)).toBe('2025-07-15');
    const m = e.backtest!.metrics;
    expect(m.kind === 'binary' && m.auc).toBeGreaterThan(0.75);
    await expect(evaluateModel(dir, 'churn', { cutoffs: ['2025-08-15'] })).rejects.toThrow(
      /ends after the latest event/,
    );
  });

  it('retraining writes a new version and keeps the previous file', async () => {
    writeModel(dir, 'churn', CHURN.replace('max_depth: 4', 'max_depth: 3'));
    expect(listModels(dir).models[0]!.state).toBe('stale');
    const r = await trainModel(dir, 'churn', { publish: false });
    expect(r.card.version).toBe(2);
    const config = requireProject(dir);
    expect(readModelFile(modelPath(config, 'churn')).version).toBe(2);
    expect(existsSync(path.join(path.dirname(modelPath(config, 'churn')), 'history', 'churn.v1.json'))).toBe(
      true,
    );
    expect(listModels(dir).models[0]).toMatchObject({ name: 'churn', state: 'trained', version: 2 });
  });

  it('logistic regression: coefficient x standardised value contributions add up to the score', async () => {
    writeModel(
      dir,
      'churn_lr',
      CHURN.replace('name: churn', 'name: churn_lr').replace(
        /params: .*\n/,
        'algorithm: logistic\nparams: { c: 0.5 }\n',
      ),
    );
    const r = await trainModel(dir, 'churn_lr');
    expect(r.card.algorithm).toBe('logistic');
    expect(r.card.metrics.kind === 'binary' && r.card.metrics.auc).toBeGreaterThan(0.75);
    const [row] = await query<{ id: string; s: number }>(
      wh,
      'SELECT entity_id AS id, churn_lr_score AS s FROM tags.current WHERE churn_lr_score IS NOT NULL ORDER BY 1 LIMIT 1',
    );
    const ev = await explain(dir, row!.id, 'churn_lr_score');
    expect(ev.model!.method).toBe('coefficient_x_standardised_value');
    expect(ev.value).toBeCloseTo(row!.s, 10);
    expect(ev.model!.contributions.reduce((s, c) => s + c.contribution, ev.model!.expected)).toBeCloseTo(
      ev.model!.margin,
      9,
    );
  });

  it('errors point into the model file: a bad label column, an unknown feature, a wrong parameter', async () => {
    writeModel(
      dir,
      'broken',
      `name: broken
description: Broken on purpose.
label:
  from: transactions
  value: count(where categry = 'hotel') > 0
  horizon: 30d
features: [spend_30d, spend_9d]
cutoffs: [2025-04-30]
`,
    );
    const err = await trainModel(dir, 'broken').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProjectError);
    const messages = (err as ProjectError).problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);
    expect(messages).toEqual([
      expect.stringMatching(/^models\/broken\.yaml:5:22: unknown column 'categry'.*did you mean 'category'/),
    ]);
    writeModel(
      dir,
      'broken',
      `name: broken
description: Broken on purpose.
label:
  from: transactions
  value: count() > 0
  horizon: 30d
features: [spend_30d, spend_9d]
cutoffs: [2025-04-30]
params: { c: 1 }
`,
    );
    const err2 = await trainModel(dir, 'broken').catch((e: unknown) => e);
    const messages2 = (err2 as ProjectError).problems.map(
      (p) => `${p.file}:${p.line}:${p.col}: ${p.message}`,
    );
    expect(messages2).toEqual([
      expect.stringMatching(/^models\/broken\.yaml:9:11: 'c' is not a parameter of gbdt/),
    ]);
    writeModel(
      dir,
      'broken',
      `name: broken
description: Broken on purpose.
label:
  from: transactions
  value: count() > 0
  horizon: 30d
features: [spend_30d, spend_9d]
cutoffs: [2025-04-30]
`,
    );
    const err3 = await trainModel(dir, 'broken').catch((e: unknown) => e);
    const messages3 = (err3 as ProjectError).problems.map(
      (p) => `${p.file}:${p.line}:${p.col}: ${p.message}`,
    );
    expect(messages3).toEqual([
      expect.stringMatching(
        /^models\/broken\.yaml:7:23: unknown feature 'spend_9d'.*did you mean 'spend_90d'/,
      ),
    ]);
  });
});
