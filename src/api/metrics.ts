/**
 * Prometheus metrics in the text exposition format, kept by hand (a few counters and one histogram
 * need no client library): requests by route, method and status, request durations, rejections,
 * and what the store holds.
 */
import type { StoreHolder } from '../online/store-holder.js';

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

  text(holder: StoreHolder): string {
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
    return `${out.join('\n')}\n`;
  }
}
