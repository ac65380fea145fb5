/**
 * The built `tagverse` command (dist/, built by `npm test`'s pretest) run as a user would run it.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../dist/cli/main.js');

async function tagverse(
  args: string[],
  cwd?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], {
      cwd: cwd ?? process.cwd(),
      env: { ...process.env, NO_COLOR: '1' },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const CONFIG = `name: shop
timezone: UTC
entity: { name: customer }
sources:
  tx:
    kind: events
    files: data/*.csv
    entity_key: customer_id
    timestamp: ts
    columns: { amount: { type: double } }
`;
const TAGS = `- name: spend
  description: Total spend.
  category: behavior
  from: tx
  value: sum(amount)
`;

describe('the tagverse command', () => {
  it('prints help and its version', async () => {
    const help = await tagverse(['--help']);
    expect(help.code).toBe(0);
    for (const verb of ['init', 'check', 'ingest', 'build', 'profile', 'explain', 'generate', 'demo']) {
      expect(help.stdout).toContain(verb);
    }
    expect((await tagverse(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('check, ingest, build, profile and explain a project, with --json output', async () => {
    const dir = tempDir({
      'tagverse.yaml': CONFIG,
      'data/a.csv':
        'customer_id,ts,amount\nc1,2025-01-01 10:00:00,5\nc1,2025-01-02 10:00:00,7\nc2,2025-01-03 10:00:00,1\n',
      'tags/t.yaml': TAGS,
    });
    const check = await tagverse(['check', '--project', dir]);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('ok: tx (1 file); 1 tag(s) in 1 file(s)');

    const ing = await tagverse(['ingest', '--project', dir, '--json']);
    expect(ing.code).toBe(0);
    const ingJson = JSON.parse(ing.stdout) as {
      sources: { name: string; rowsLoaded: number; rowsRejected: number; files: number }[];
    };
    expect(ingJson.sources.map((s) => [s.name, s.rowsLoaded, s.rowsRejected, s.files])).toEqual([
      ['tx', 3, 0, 1],
    ]);

    const b = await tagverse(['build', '--project', dir, '--json']);
    expect(b.code).toBe(0);
    expect(JSON.parse(b.stdout)).toMatchObject({ entities: 2, asOf: '2025-01-03T10:00:00.000Z' });

    const p = await tagverse(['profile', 'c1', '--project', dir, '--json']);
    expect(JSON.parse(p.stdout).categories.behavior).toEqual([
      { name: 'spend', title: 'Spend', type: 'number', value: 12 },
    ]);

    const ex = await tagverse(['explain', 'c1', 'spend', '--project', dir]);
    expect(ex.stdout).toContain('because sum(amount) = 12 -> 12');

    const sql = await tagverse(['check', '--project', dir, '--sql']);
    expect(sql.stdout).toMatch(
      /-- aggregates of tx \(1\) -> _tv_agg_tx\nSELECT .*sum\(x\."_x0"\).*CAST\(e\."amount" AS DOUBLE\) AS "_x0"/,
    );
  });

  it('exits non-zero with one clear line (or positioned problems) on errors', async () => {
    const dir = tempDir({
      'tagverse.yaml': CONFIG.replace('entity_key', 'entity_kye'),
      'data/a.csv': 'customer_id,ts,amount\n',
    });
    const check = await tagverse(['check', '--project', dir]);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(
      "tagverse.yaml:8:5: unknown key 'entity_kye' (did you mean 'entity_key'?)",
    );

    const missing = await tagverse(['ingest', '--project', tempDir()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no tagverse\.yaml in .* \(create one with 'tagverse init'\)/);

    const json = await tagverse(['ingest', '--project', tempDir(), '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false });

    const unknownVerb = await tagverse(['ingst']);
    expect(unknownVerb.code).not.toBe(0);
    expect(unknownVerb.stderr).toContain("unknown command 'ingst'");
  });

  it('init scaffolds from a template and refuses to overwrite', async () => {
    const dir = path.join(tempDir(), 'p');
    const first = await tagverse(['init', dir]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("from template 'blank'");
    const again = await tagverse(['init', dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists (use --force to overwrite)');
    const bad = await tagverse(['init', path.join(tempDir(), 'q'), '--template', 'grocry']);
    expect(bad.stderr).toContain("unknown template 'grocry' (did you mean 'grocery'?)");
  });
});
