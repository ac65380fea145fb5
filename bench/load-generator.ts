/**
 * The server and the HTTP load of the serving benchmarks (serve, recs). `startServeChild` runs
 * `tagverse serve` from the sources in its own process. The load runs in a third process: autocannon in the
 * benchmark's process would share its event loop and heap (a loaded 1M-entity store, collected by the
 * same GC) with the client, and the client's pauses would show up as server latency.
 *
 * `runLoad` spawns this file; the child runs autocannon at a fixed overall rate and prints the
 * result. Requests are generated in the child from a seed: `profile` (GET /v1/profiles/{random id})
 * or `decide` (POST /v1/decide for a random entity near one of the card world's cities). The server's
 * CPU time over the measured run (from /proc, Linux) gives the CPU cost per request, which a shared,
 * loaded machine distorts far less than wall-clock latency.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type autocannon from 'autocannon';

export interface LoadOptions {
  readonly url: string;
  readonly key: string;
  readonly mode: 'profile' | 'decide';
  /** Entities E0000000..E{n-1}. */
  readonly entities: number;
  readonly rate: number;
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  /** The server's pid, to measure its CPU time over the run. */
  readonly serverPid?: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly achievedRate: number;
  readonly latencyMs: { p50: number; p90: number; p99: number; max: number };
  readonly non2xx: number;
  readonly errors: number;
  /** Server CPU (user + system) per request over the measured run, µs (undefined off Linux). */
  readonly serverCpuUsPerRequest?: number;
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** Run the load in a child process and return its figures. */
export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'load-generator.ts')], {
    env: { ...process.env, TAGVERSE_LOAD: JSON.stringify(opts) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${code}`));
      else resolve(JSON.parse(out) as LoadResult);
    });
  });
}

/** Whether wrk (a load generator in C, Debian package `wrk`) is installed. */
export function hasWrk(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

/**
 * The profile load with wrk instead of autocannon, when it is installed (`apt-get install wrk`): a
 * client in C costs this 2-core machine a fraction of the CPU autocannon does, so less of the
 * latency is the client competing with the server for a core. One thread, `connections`
 * connections, each waiting so that together they send about `rate` requests a second (wrk's `delay`
 * hook, whole milliseconds: the achieved rate is reported); random entities from a fixed seed.
 * Latencies are from a request's send to its response, with µs resolution.
 */
export async function runWrk(opts: LoadOptions): Promise<LoadResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tv-wrk-'));
  const script = path.join(dir, 'profiles.lua');
  writeFileSync(
    script,
    `local key = os.getenv("WRK_KEY")
local n = tonumber(os.getenv("WRK_ENTITIES"))
local gap = tonumber(os.getenv("WRK_GAP_MS"))
math.randomseed(4242)
request = function()
  local path = string.format("/v1/profiles/E%07d", math.random(0, n - 1))
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. key })
end
delay = function() return gap end
`,
  );
  const env = {
    ...process.env,
    WRK_KEY: opts.key,
    WRK_ENTITIES: String(opts.entities),
    WRK_GAP_MS: String(Math.max(0, Math.round((opts.connections * 1000) / opts.rate) - 1)),
  };
  const wrk = (seconds: number) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(
        'wrk',
        ['-t1', `-c${opts.connections}`, `-d${seconds}s`, '--latency', '-s', script, opts.url],
        { env, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.once('exit', (code) =>
        code === 0 ? resolve(out) : reject(new Error(`wrk exited with ${code}`)),
      );
    });
  try {
    await wrk(opts.warmupSeconds);
    const cpu0 = opts.serverPid !== undefined ? processCpuSeconds(opts.serverPid) : undefined;
    const out = await wrk(opts.seconds);
    const cpu1 = opts.serverPid !== undefined ? processCpuSeconds(opts.serverPid) : undefined;
    const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN);
    const pct = (p: number) => wrkMs(new RegExp(`\\s${p}%\\s+(\\S+)`).exec(out)?.[1]);
    const max = wrkMs(/Latency\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1]);
    const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    return {
      requests: total,
      achievedRate: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
      latencyMs: { p50: pct(50), p90: pct(90), p99: pct(99), max },
      non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
      errors: errors ? errors.slice(1).reduce((a, x) => a + Number(x), 0) : 0,
      ...(cpu0 !== undefined && cpu1 !== undefined && total > 0
        ? { serverCpuUsPerRequest: Math.round(((cpu1 - cpu0) * 1e6) / total) }
        : {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A wrk duration (`950.12us`, `1.23ms`, `2.01s`) in ms, to the µs. */
function wrkMs(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  if (!m) return Number.NaN;
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as 'us' | 'ms' | 's' | 'm'];
  return Math.round(Number(m[1]) * scale * 1000) / 1000;
}

/** `tagverse serve` in its own process, from the sources; resolves with its URL once it listens. */
export function startServeChild(
  dir: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const main = path.join(here, '..', 'src', 'cli', 'main.ts');
  // BENCH_SERVE_NODE_ARGS: node flags for the server (e.g. --cpu-prof).
  const nodeArgs = (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', main, 'serve', '--project', dir, '--port', '0', '--no-watch'],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return listening(child, 'tagverse serve');
}

/**
 * The machine's floor for the same load: a bare Node HTTP server in its own process answering every
 * request with the same bytes (no routing, auth, store or metrics). Measured in the same run as the
 * real server, it shows how much of a latency is this machine and the load generator.
 */
export function startBareServer(body: Buffer): Promise<{ child: ChildProcess; url: string }> {
  const script = `
    const http = require('node:http');
    const body = Buffer.from(process.env.BARE_BODY, 'base64');
    const server = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
    server.listen(0, '127.0.0.1', () => process.stderr.write('listening at http://127.0.0.1:' + server.address().port + '\\n'));`;
  const child = spawn(process.execPath, ['-e', script], {
    env: { ...process.env, BARE_BODY: body.toString('base64') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return listening(child, 'the bare Node server');
}

/** Resolves with the URL a child prints on stderr ("... at http://..."); rejects if it exits first. */
function listening(child: ChildProcess, what: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /at (http:\/\/\S+)/.exec(err);
      if (m) resolve({ child, url: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}: ${err}`)));
  });
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

const CITIES: [number, number][] = [
  [37.5665, 126.978],
  [35.1796, 129.0756],
  [37.4563, 126.7052],
  [35.8714, 128.6014],
  [36.3504, 127.3845],
  [35.1595, 126.8526],
  [37.2636, 127.0286],
  [35.5384, 129.3114],
];

async function main(opts: LoadOptions): Promise<void> {
  const { default: autocannon } = await import('autocannon');
  let seed = 4242;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const id = (i: number) => `E${String(i).padStart(7, '0')}`;
  const headers: Record<string, string> = { authorization: `Bearer ${opts.key}` };
  let requests: autocannon.Request[];
  if (opts.mode === 'profile') {
    requests = [
      { setupRequest: (req) => ({ ...req, path: `/v1/profiles/${id(Math.floor(rnd() * opts.entities))}` }) },
    ];
  } else {
    headers['content-type'] = 'application/json';
    const body = () => {
      const i = Math.floor(rnd() * opts.entities);
      const c = CITIES[i % CITIES.length]!;
      return JSON.stringify({
        entityId: id(i),
        context: {
          time: '2025-07-02T12:30:00+09:00',
          channel: 'app',
          location: { lat: c[0] + (rnd() - 0.5) / 20, lon: c[1] + (rnd() - 0.5) / 20 },
        },
        limit: 3,
      });
    };
    requests = [{ method: 'POST', path: '/v1/decide', setupRequest: (req) => ({ ...req, body: body() }) }];
  }
  const run = (duration: number) =>
    autocannon({
      url: opts.url,
      connections: opts.connections,
      overallRate: opts.rate,
      duration,
      headers,
      requests,
    });
  await run(opts.warmupSeconds);
  const cpu0 = opts.serverPid !== undefined ? processCpuSeconds(opts.serverPid) : undefined;
  const r = await run(opts.seconds);
  const cpu1 = opts.serverPid !== undefined ? processCpuSeconds(opts.serverPid) : undefined;
  const total = r.requests.total;
  const result: LoadResult = {
    requests: total,
    achievedRate: Math.round(r.requests.average * 10) / 10,
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    non2xx: r.non2xx,
    errors: r.errors,
    ...(cpu0 !== undefined && cpu1 !== undefined && total > 0
      ? { serverCpuUsPerRequest: Math.round(((cpu1 - cpu0) * 1e6) / total) }
      : {}),
  };
  process.stdout.write(JSON.stringify(result));
}

const load = process.env.TAGVERSE_LOAD;
if (load && process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(JSON.parse(load) as LoadOptions);
}
