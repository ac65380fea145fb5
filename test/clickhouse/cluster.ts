/**
 * A local ClickHouse cluster for tests: scripts/clickhouse-cluster.sh starts `shards` server processes
 * on 127.0.0.1 (own config, ports and data folder each) and stops them. Tests skip only outside CI
 * when clickhouse-server is not installed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/clickhouse-cluster.sh', import.meta.url));

export function clickhouseInstalled(): boolean {
  return ['/usr/bin/clickhouse-server', '/usr/sbin/clickhouse-server', '/usr/bin/clickhouse'].some((p) =>
    existsSync(p),
  );
}

/** Skip reason, or undefined when the tests can run (in CI they always run, and fail without a server). */
export function skipReason(): string | undefined {
  if (clickhouseInstalled() || process.env.CI) return undefined;
  return 'clickhouse-server is not installed (apt-get install clickhouse-server); ClickHouse tests skipped';
}

export interface LocalCluster {
  readonly nodes: readonly string[];
  stop(): void;
}

/** Start a cluster of `shards` nodes on free-ish ports derived from the process id. */
export function startCluster(shards: number, basePort = 20000 + ((process.pid * 37) % 20000)): LocalCluster {
  const dir = tempDir();
  // The servers keep inherited pipes open: give the script no pipes (node i's HTTP port is base + 10 i).
  execFileSync(SCRIPT, ['start', dir, String(shards), String(basePort)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 120_000,
  });
  const nodes = Array.from({ length: shards }, (_, i) => `http://127.0.0.1:${basePort + 10 * i}/`);
  return {
    nodes,
    stop: () => {
      execFileSync(SCRIPT, ['stop', dir], { timeout: 60_000 });
    },
  };
}
