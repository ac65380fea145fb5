/**
 * The demo behind `npm start`: generate the synthetic card world once (if not already there with the
 * same parameters), ingest it into the embedded warehouse, and summarise what is loaded.
 * Later stages (build, serve) hang off the same function as they land.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { requireProject } from '../config/project.js';
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
}

export interface DemoSummary {
  readonly dir: string;
  readonly generated: boolean;
  readonly ingest: IngestResult;
  readonly warehouse: string;
  readonly tables: readonly { source: string; kind: string; rows: number }[];
  readonly dataRange?: { readonly from: string; readonly to: string };
  readonly rejects: number;
}

const MARKER = '.tagverse-demo.json';

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
    await generateWorld({
      ...params,
      out: dir,
      ...(opts.onGenerateProgress ? { onProgress: opts.onGenerateProgress } : {}),
    });
    writeFileSync(markerFile, `${JSON.stringify(params)}\n`);
  }
  const config = requireProject(dir);
  opts.onPhase?.('ingesting into the embedded warehouse');
  const result = await ingest(config, {
    replace: fresh,
    ...(opts.onIngestProgress ? { onProgress: opts.onIngestProgress } : {}),
  });
  const wh = await Warehouse.open(config.engine.path);
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
    const range = await wh.jsonRows<{ from: string; to: string }>(
      `SELECT min(ts)::VARCHAR AS "from", max(ts)::VARCHAR AS "to" FROM raw.transactions`,
    );
    return {
      dir,
      generated: fresh,
      ingest: result,
      warehouse: config.engine.path,
      tables,
      ...(range[0] ? { dataRange: range[0] } : {}),
      rejects,
    };
  } finally {
    wh.close();
  }
}
