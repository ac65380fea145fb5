/**
 * The demo behind `npm start`: generate the synthetic card world once (if not already there with the
 * same parameters; the card pack's tags come with it), ingest it into the embedded warehouse, build
 * every tag, and make sure the project has an admin API key for the server (kept in a local file of
 * the demo folder so the same key works on every start).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createApiKey } from '../api/keys.js';
import { requireProject } from '../config/project.js';
import { type BuildProgress, type BuildResult, build } from '../engine/build.js';
import { generateWorld } from '../generate/index.js';
import { type IngestProgress, type IngestResult, ingest } from '../ingest/ingest.js';
import { Warehouse } from '../warehouse/warehouse.js';

export interface DemoOptions {
  readonly dir: string;
  readonly customers?: number;
  readonly months?: number;
  readonly seed?: number;
  readonly onPhase?: (phase: string) => void;
  readonly onGenerateProgress?: (p: { phase: string; done: number; total: number }) => void;
  readonly onIngestProgress?: (p: IngestProgress) => void;
  readonly onBuildProgress?: (p: BuildProgress) => void;
}

export interface DemoSummary {
  readonly dir: string;
  readonly generated: boolean;
  readonly ingest: IngestResult;
  readonly build: BuildResult;
  readonly warehouse: string;
  readonly tables: readonly { source: string; kind: string; rows: number }[];
  readonly dataRange?: { readonly from: string; readonly to: string };
  readonly rejects: number;
  /** An admin API key for the demo server (stored hashed in tagverse.yaml, in clear in `.tagverse-demo-key`). */
  readonly apiKey: string;
  /** A customer with many tags, to try `profile` and `explain` on. */
  readonly sampleEntity?: string;
}

const MARKER = '.tagverse-demo.json';
const KEY_FILE = '.tagverse-demo-key';

export async function runDemo(opts: DemoOptions): Promise<DemoSummary> {
  const dir = path.resolve(opts.dir);
  const params = { customers: opts.customers ?? 10_000, months: opts.months ?? 12, seed: opts.seed ?? 1 };
  const markerFile = path.join(dir, MARKER);
  const existing = existsSync(markerFile)
    ? (JSON.parse(readFileSync(markerFile, 'utf8')) as typeof params)
    : undefined;
  const fresh =
    !existing ||
    existing.customers !== params.customers ||
    existing.months !== params.months ||
    existing.seed !== params.seed;
  if (fresh) {
    opts.onPhase?.(`generating the card world: ${params.customers} customers x ${params.months} months`);
    // A new world replaces the old one entirely (tags, keys and warehouse included).
    for (const f of ['tags', '.tagverse', KEY_FILE, MARKER])
      rmSync(path.join(dir, f), { recursive: true, force: true });
    await generateWorld({
      ...params,
      out: dir,
      ...(opts.onGenerateProgress ? { onProgress: opts.onGenerateProgress } : {}),
    });
    writeFileSync(markerFile, `${JSON.stringify(params)}\n`);
  }
  let config = requireProject(dir);
  opts.onPhase?.('ingesting into the embedded warehouse');
  const ingested = await ingest(config, {
    replace: fresh,
    ...(opts.onIngestProgress ? { onProgress: opts.onIngestProgress } : {}),
  });
  opts.onPhase?.('building every tag');
  const built = await build(config, {
    ...(opts.onBuildProgress ? { onProgress: opts.onBuildProgress } : {}),
  });

  const keyFile = path.join(dir, KEY_FILE);
  let apiKey = existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : '';
  if (!apiKey || config.api.keys.length === 0) {
    apiKey = createApiKey(config, 'admin', 'demo').key;
    writeFileSync(keyFile, `${apiKey}\n`, { mode: 0o600 });
    config = requireProject(dir);
  }

  const wh = await Warehouse.open(config.engine.path, { readOnly: true });
  try {
    const tables: { source: string; kind: string; rows: number }[] = [];
    for (const [name, src] of config.sources) {
      if (!(await wh.tableExists('raw', name))) continue;
      tables.push({
        source: name,
        kind: src.kind,
        rows: Number(await wh.scalar(`SELECT count(*) FROM raw."${name}"`)),
      });
    }
    const rejects = Number(await wh.scalar('SELECT count(*) FROM tagverse.rejects'));
    const range = await wh.objects<{ from: string; to: string }>(
      `SELECT min(ts)::VARCHAR AS "from", max(ts)::VARCHAR AS "to" FROM raw.transactions`,
    );
    // A customer with a few interesting tags, if the pack's tags are there.
    const sample = await wh
      .objects<{ entity_id: string }>(
        'SELECT entity_id FROM tags.current WHERE golf_lover AND foodie ORDER BY entity_id LIMIT 1',
      )
      .catch(() =>
        wh.objects<{ entity_id: string }>('SELECT entity_id FROM tags.current ORDER BY entity_id LIMIT 1'),
      );
    return {
      dir,
      generated: fresh,
      ingest: ingested,
      build: built,
      warehouse: config.engine.path,
      tables,
      ...(range[0] ? { dataRange: range[0] } : {}),
      rejects,
      apiKey,
      ...(sample[0] ? { sampleEntity: sample[0].entity_id } : {}),
    };
  } finally {
    wh.close();
  }
}
