/**
 * The packs' model definitions: every one parses; over the real datasets (../shared/datasets, skipped
 * with a message when absent) the static ones train to useful AUCs with the label kept out of the
 * features — Telco's `churn` column, and BankChurners' two Naive_Bayes_* columns (a model's outputs that
 * leak the label), which the bank pack drops at ingest.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingest } from '../../src/ingest/ingest.js';
import { parseModelFile } from '../../src/models/definition.js';
import { trainModel } from '../../src/models/train.js';
import { datasetsDir, packDir } from '../../src/packs/index.js';
import { initProject } from '../../src/project/init.js';
import { tempDir } from '../helpers.js';

const datasets = datasetsDir();
const why = datasets ? '' : ' (SKIPPED: ../shared/datasets not found; set TAGVERSE_DATASETS to run)';
if (!datasets) console.warn(`real-data pack model tests${why}`);

describe('pack model definitions', () => {
  it('every packs/*/models/*.yaml parses without a problem', () => {
    const files: string[] = [];
    for (const pack of ['card', 'grocery', 'telco', 'bank']) {
      const dir = path.join(packDir(pack), 'models');
      for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml'))) {
        const r = parseModelFile(`models/${f}`, readFileSync(path.join(dir, f), 'utf8'));
        expect(r.problems.map((p) => `${pack}/${p.file}:${p.line}: ${p.message}`)).toEqual([]);
        expect(r.model?.input.name).toBe(f.replace(/\.yaml$/, ''));
        files.push(`${pack}/${f}`);
      }
    }
    expect(files).toEqual(
      expect.arrayContaining([
        'card/travel_30d.yaml',
        'card/churn_60d.yaml',
        'telco/churn.yaml',
        'bank/attrition.yaml',
      ]),
    );
  });
});

describe.skipIf(!datasets)(`pack models on the real datasets${why}`, () => {
  it('Telco churn: static model on held-out subscribers, the label column is not a feature', async () => {
    const dir = path.join(tempDir(), 'telco');
    initProject(dir, { template: 'telco' });
    await ingest(dir);
    const { card } = await trainModel(dir, 'churn', { publish: false });
    expect(card.mode).toBe('static');
    expect(card.validation).toEqual({ method: 'holdout', holdout: 0.2 });
    expect(card.features.some((f) => /\.churn$/i.test(f))).toBe(false);
    expect(card.features.length).toBeGreaterThan(10);
    // xgboost on the same rows: 0.839 (bench/results/models.json).
    expect(card.metrics.kind === 'binary' && card.metrics.auc).toBeGreaterThan(0.82);
  }, 240_000);

  it('BankChurners attrition: no Naive_Bayes_* column reaches the model', async () => {
    const dir = path.join(tempDir(), 'bank');
    initProject(dir, { template: 'bank' });
    await ingest(dir);
    const { card } = await trainModel(dir, 'attrition', { publish: false });
    expect(card.features.filter((f) => /naive_bayes/i.test(f))).toEqual([]);
    expect(card.features.some((f) => /attrition_flag/i.test(f))).toBe(false);
    // xgboost on the same rows: 0.992.
    expect(card.metrics.kind === 'binary' && card.metrics.auc).toBeGreaterThan(0.97);
  }, 240_000);
});
