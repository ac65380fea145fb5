/**
 * Prometheus metrics in the text exposition format, kept by hand (a few counters and one histogram
 * need no client library): requests by route, method and status, request durations, rejections,
 * what the store holds, and with real time on, its counters, lag and whether live tags are evaluated.
 */
import type { StoreHolder } from '../online/store-holder.js';
import type { RealtimeStatus } from '../realtime/runtime.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

interface Duration {
  readonly buckets: number[];
  sum: number;
  count: number;
}

/** The counters of one route, method and status (looked up once per request, labels built once). */
interface Series {
  count: number;
  readonly duration: Duration;
}

export class Metrics {
  private readonly requests = new Map<string, Series>();
  private readonly durations = new Map<string, Duration>();
  /** route \0 method \0 status -> its series. */
  private readonly series = new Map<string, Series>();
  private readonly rejections = new Map<string, number>();
  private readonly started = Date.now();

  observe(route: string, method: string, status: number, seconds: number): void {
    const id = `${route}\0${method}\0${status}`;
    let s = this.series.get(id);
    if (!s) {
      const dkey = `route="${label(route)}",method="${method}"`;
      let d = this.durations.get(dkey);
      if (!d) {
        d = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
        this.durations.set(dkey, d);
      }
      s = { count: 0, duration: d };
      this.series.set(id, s);
      this.requests.set(`${dkey},status="${status}"`, s);
    }
    s.count++;
    const d = s.duration;
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) d.buckets[i]!++;
    d.sum += seconds;
    d.count++;
  }

  /** A request turned away before its handler: `unauthorized`, `forbidden`, `rate_limited`, `too_large`... */
  reject(reason: string): void {
    this.rejections.set(reason, (this.rejections.get(reason) ?? 0) + 1);
  }

  /** The exposition text; `realtime` gives the real-time status when it runs. */
  text(holder: StoreHolder, realtime?: () => RealtimeStatus | undefined): string {
    const out: string[] = [];
    out.push('# HELP tagverse_http_requests_total HTTP requests by route, method and status.');
    out.push('# TYPE tagverse_http_requests_total counter');
    for (const [k, v] of this.requests) out.push(`tagverse_http_requests_total{${k}} ${v.count}`);
    out.push('# HELP tagverse_http_request_duration_seconds Time to answer a request.');
    out.push('# TYPE tagverse_http_request_duration_seconds histogram');
    for (const [k, d] of this.durations) {
      BUCKETS.forEach((b, i) => {
        out.push(`tagverse_http_request_duration_seconds_bucket{${k},le="${b}"} ${d.buckets[i]}`);
      });
      out.push(`tagverse_http_request_duration_seconds_bucket{${k},le="+Inf"} ${d.count}`);
      out.push(`tagverse_http_request_duration_seconds_sum{${k}} ${d.sum}`);
      out.push(`tagverse_http_request_duration_seconds_count{${k}} ${d.count}`);
    }
    out.push('# HELP tagverse_http_rejections_total Requests refused before their handler, by reason.');
    out.push('# TYPE tagverse_http_rejections_total counter');
    for (const [k, v] of this.rejections)
      out.push(`tagverse_http_rejections_total{reason="${label(k)}"} ${v}`);
    const s = holder.current;
    out.push('# HELP tagverse_store_entities Entities in the served store.');
    out.push('# TYPE tagverse_store_entities gauge');
    out.push(`tagverse_store_entities ${s.size}`);
    out.push('# HELP tagverse_store_tags Tags in the served store.');
    out.push('# TYPE tagverse_store_tags gauge');
    out.push(`tagverse_store_tags ${s.tags.size}`);
    out.push('# HELP tagverse_store_build_id Build the served store holds.');
    out.push('# TYPE tagverse_store_build_id gauge');
    out.push(`tagverse_store_build_id ${s.info.buildId}`);
    out.push('# HELP tagverse_store_loaded_timestamp_seconds When the served store was loaded.');
    out.push('# TYPE tagverse_store_loaded_timestamp_seconds gauge');
    out.push(`tagverse_store_loaded_timestamp_seconds ${Date.parse(s.info.loadedAt) / 1000}`);
    out.push('# HELP tagverse_store_reloads_total Reloads after a new build.');
    out.push('# TYPE tagverse_store_reloads_total counter');
    out.push(`tagverse_store_reloads_total ${holder.reloads}`);
    out.push('# HELP tagverse_process_start_time_seconds Start time of the server.');
    out.push('# TYPE tagverse_process_start_time_seconds gauge');
    out.push(`tagverse_process_start_time_seconds ${this.started / 1000}`);
    out.push('# HELP tagverse_process_resident_memory_bytes Resident memory.');
    out.push('# TYPE tagverse_process_resident_memory_bytes gauge');
    out.push(`tagverse_process_resident_memory_bytes ${process.memoryUsage.rss()}`);
    const rt = realtime?.();
    if (rt) realtimeMetrics(rt, out);
    return `${out.join('\n')}\n`;
  }
}

/** Real-time counters and gauges: what an alert on ingestion, lag or a stopped evaluator reads. */
function realtimeMetrics(rt: RealtimeStatus, out: string[]): void {
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`);
    out.push(`# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) out.push(`${name}${labels} ${v}`);
  };
  metric(
    'tagverse_realtime_messages_total',
    'counter',
    'Messages taken by real-time ingestion, by outcome.',
    [
      ['{outcome="accepted"}', rt.accepted],
      ['{outcome="duplicate"}', rt.duplicates],
      ['{outcome="rejected"}', rt.rejected],
      ['{outcome="ignored"}', rt.ignored],
    ],
  );
  metric(
    'tagverse_realtime_lag_seconds',
    'gauge',
    'How far served tags are behind: the age of the oldest accepted event not evaluated yet.',
    [['', rt.lagMs / 1000]],
  );
  metric(
    'tagverse_realtime_served_latency_seconds',
    'gauge',
    'Acceptance-to-served latency over recent evaluations.',
    [
      ['{quantile="0.5"}', (rt.latencyMs.p50 ?? 0) / 1000],
      ['{quantile="0.99"}', (rt.latencyMs.p99 ?? 0) / 1000],
    ],
  );
  metric('tagverse_realtime_dirty_entities', 'gauge', 'Entities waiting to be evaluated.', [
    ['', rt.dirtyEntities],
  ]);
  metric(
    'tagverse_realtime_pending_flush_messages',
    'gauge',
    'Logged messages not yet written into the warehouse.',
    [['', rt.pendingFlush]],
  );
  metric('tagverse_realtime_log_bytes', 'gauge', 'Size of the write-ahead log on disk.', [['', rt.walBytes]]);
  metric(
    'tagverse_realtime_evaluator_up',
    'gauge',
    '1 while live tags are evaluated, 0 once evaluation stopped (see /v1/realtime/status evaluator.error).',
    [[`{mode="${rt.evaluator.mode}"}`, rt.evaluator.error === undefined ? 1 : 0]],
  );
}
