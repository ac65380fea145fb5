/**
 * `tagverse train`, `evaluate`, `models` and `explain` of a model tag, run as a user runs them (the
 * built command in dist/, built by `npm test`'s pretest): text and --json output, exit codes.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { cardWorld, writeModel } from './card-world.js';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../dist/cli/main.js');

async function tagverse(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1' },
      maxBuffer: 32 * 2 ** 20,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

// Every approved tag as a feature, an entity filter, two stacked cutoffs (time-based validation).
const MODEL = `name: travel
description: Any travel payment in the 30 days after the cutoff.
category: preference
label:
  from: transactions
  where: category in ('airline', 'hotel', 'travel_agency', 'airport', 'duty_free')
  value: count() > 0
  horizon: 30d
filter: active
features:
  approved: true
  exclude: [active]
cutoffs: [2025-03-31, 2025-04-30]
params: { trees: 60, learning_rate: 0.1, max_depth: 3 }
seed: 2
`;

let dir: string;
beforeAll(async () => {
  dir = await cardWorld(800, 6, 9);
  writeModel(dir, 'travel', MODEL);
}, 180_000);

describe('tagverse train / evaluate / models', () => {
  it('models lists a defined model as untrained', async () => {
    const r = await tagverse(['models', '--project', dir, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { models: { name: string; state: string; algorithm: string }[] };
    expect(out.models).toEqual([expect.objectContaining({ name: 'travel', algorithm: 'gbdt' })]);
    expect(out.models[0]!.state).not.toBe('trained');
  });

  it('train --json prints the card and publishes the score tags', async () => {
    const r = await tagverse(['train', 'travel', '--project', dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      card: {
        version: number;
        features: string[];
        validation: { method: string };
        metrics: Record<string, unknown>;
        rows: { byCutoff: unknown[] };
      };
      file: string;
      published: { entities: number };
    };
    expect(out.card.version).toBe(1);
    expect(out.card.validation.method).toBe('last_cutoff');
    expect(out.card.rows.byCutoff).toHaveLength(2);
    expect(out.card.features).toEqual(expect.arrayContaining(['spend_90d', 'travel_count_180d']));
    expect(out.card.features).not.toContain('active');
    for (const k of ['auc', 'prAuc', 'logLoss', 'brier', 'calibration', 'gains'])
      expect(out.card.metrics).toHaveProperty(k);
    expect(out.file).toMatch(/travel\.json$/);
    expect(out.published.entities).toBe(800);
  });

  it('evaluate prints the metrics, calibration, gains and lift by decile and top features; --json has them', async () => {
    const text = await tagverse(['evaluate', 'travel', '--project', dir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/AUC 0\.\d{3}\s+PR-AUC 0\.\d{3}\s+log loss \d\.\d{3}\s+Brier 0\.\d{3}/);
    expect(text.stdout).toMatch(/calibration/);
    expect(text.stdout).toMatch(/decile\s+rate\s+lift\s+cumulative gain/);
    expect(text.stdout.match(/^\s+\d+\s+\d+\.\d%\s+\d+\.\d\d\s+\d+\.\d%$/gm)).toHaveLength(10);
    expect(text.stdout).toMatch(/top features \(gain\):/);
    const json = JSON.parse((await tagverse(['evaluate', 'travel', '--project', dir, '--json'])).stdout) as {
      card: { topFeatures: { name: string; share: number }[]; metrics: { gains: unknown[] } };
    };
    expect(json.card.metrics.gains).toHaveLength(10);
    expect(json.card.topFeatures[0]!.share).toBeGreaterThan(0);
  });

  it('models shows the trained version and its AUC', async () => {
    const r = await tagverse(['models', '--project', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^travel\s+gbdt\s+trained\s+v1 .* AUC 0\.\d{3} PR-AUC 0\.\d{3}$/m);
  });

  it('explain shows the per-entity contributions of a model tag', async () => {
    const profile = await tagverse(['segment', 'travel_decile = 1', '--project', dir, '--json']);
    expect(profile.code, profile.stderr).toBe(0);
    const seg = JSON.parse(profile.stdout) as { sample: string[]; count: number };
    expect(seg.count).toBeGreaterThan(0);
    const id = seg.sample[0]!;
    const r = await tagverse(['explain', id, 'travel_score', '--project', dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const ev = JSON.parse(r.stdout) as {
      model: { method: string; expected: number; margin: number; contributions: { contribution: number }[] };
    };
    expect(ev.model.method).toBe('treeshap');
    const sum = ev.model.contributions.reduce((s, c) => s + c.contribution, ev.model.expected);
    expect(sum).toBeCloseTo(ev.model.margin, 9);
  });

  it('an unknown model exits non-zero with one clear line', async () => {
    const r = await tagverse(['train', 'travle', '--project', dir]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown model 'travle'.*did you mean 'travel'/);
  });
});
