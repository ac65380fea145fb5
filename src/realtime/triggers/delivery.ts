/**
 * Webhook delivery: signed JSON POSTs with retries, an outbox that survives restarts, a dead-letter log.
 *
 * - Signature: `x-tagverse-signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with
 *   `x-tagverse-timestamp` (Unix seconds) and `x-tagverse-delivery` (a unique id, the same on every
 *   retry: receivers deduplicate with it). A receiver recomputes the HMAC over the raw body and
 *   rejects old timestamps (see `verifySignature`).
 * - Retries: on a network error, a timeout, 408, 429 or 5xx, after backoff * 2^(attempt-1) ms
 *   (jittered by ±20%, at most max_backoff); another 4xx is final. After `max_attempts` the delivery
 *   goes to the dead-letter log.
 * - Outbox (`outbox.jsonl`): every delivery is written there when it is fired and marked when it is
 *   delivered or dead; at start, deliveries not marked are sent again (at least once).
 * - Dead letters (`dead-letter.jsonl`): one JSON line per delivery given up, with the last error and
 *   the body, for inspection or replay.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Delivery {
  readonly id: string;
  readonly trigger: string;
  readonly entity: string;
  /** enter | leave | event */
  readonly on: string;
  readonly url: string;
  readonly body: string;
  /** Epoch ms when it was fired, and when it may be sent (quiet hours delay it). */
  readonly firedAt: number;
  readonly notBefore: number;
  /** Trigger-specific key used to recognise a fire again (event triggers: the messageId). */
  readonly key?: string;
}

export interface DeliveryPolicy {
  readonly secret: string;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

export interface DeliveryStats {
  delivered: number;
  retried: number;
  dead: number;
  inFlight: number;
  queued: number;
  /** Fire-to-delivered latencies (ms) of the last deliveries. */
  readonly latencies: number[];
}

/** `sha256=<hex>` of HMAC-SHA256(secret, `${timestamp}.${body}`). */
export function signature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a webhook receiver does: check the signature and that the timestamp is recent.
 * @example
 *   verifySignature(secret, req.headers['x-tagverse-timestamp'], req.headers['x-tagverse-signature'], rawBody)
 */
export function verifySignature(
  secret: string,
  timestamp: string | undefined,
  sig: string | undefined,
  body: string,
  opts: { toleranceSeconds?: number; now?: number } = {},
): boolean {
  if (timestamp === undefined || sig === undefined) return false;
  const ts = Number(timestamp);
  if (!Number.isInteger(ts)) return false;
  const now = opts.now ?? Date.now() / 1000;
  if (Math.abs(now - ts) > (opts.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signature(secret, ts, body));
  const got = Buffer.from(sig);
  return expected.length === got.length && timingSafeEqual(expected, got);
}

interface Job {
  readonly d: Delivery;
  readonly policy: DeliveryPolicy;
  attempts: number;
  lastError?: string;
}

export class Deliverer {
  private readonly outboxFile: string;
  private readonly deadFile: string;
  private readonly queue: Job[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private closed = false;
  private pendingOnDisk = 0;
  readonly stats: DeliveryStats = {
    delivered: 0,
    retried: 0,
    dead: 0,
    inFlight: 0,
    queued: 0,
    latencies: [],
  };

  constructor(
    dir: string,
    private readonly opts: {
      readonly fetch?: typeof fetch;
      readonly now?: () => number;
      readonly concurrency?: number;
      readonly log?: (m: string) => void;
    } = {},
  ) {
    mkdirSync(dir, { recursive: true });
    this.outboxFile = path.join(dir, 'outbox.jsonl');
    this.deadFile = path.join(dir, 'dead-letter.jsonl');
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /**
   * Deliveries fired but not finished before the last stop, in fire order (to send again), and every
   * fire of the outbox (frequency caps and enter/leave state are rebuilt from them).
   */
  readOutbox(): { pending: Delivery[]; fired: Delivery[] } {
    if (!existsSync(this.outboxFile)) return { pending: [], fired: [] };
    const fired: Delivery[] = [];
    const done = new Set<string>();
    for (const line of readFileSync(this.outboxFile, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      let rec: { t: string; id: string; d?: Delivery };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        continue; // a torn last line after a crash
      }
      if (rec.t === 'fire' && rec.d) fired.push(rec.d);
      else if (rec.t === 'done') done.add(rec.id);
    }
    const pending = fired.filter((d) => !done.has(d.id));
    this.pendingOnDisk = pending.length;
    return { pending, fired };
  }

  /** Rewrite the outbox with only the fires still needed (pending, or recent enough for caps). */
  compact(keep: readonly Delivery[], pending: ReadonlySet<string>): void {
    const lines: string[] = [];
    for (const d of keep) {
      lines.push(JSON.stringify({ t: 'fire', id: d.id, d }));
      if (!pending.has(d.id)) lines.push(JSON.stringify({ t: 'done', id: d.id, outcome: 'old' }));
    }
    const tmp = `${this.outboxFile}.tmp`;
    writeFileSync(tmp, lines.length > 0 ? `${lines.join('\n')}\n` : '');
    renameSync(tmp, this.outboxFile);
  }

  /** Record a fire in the outbox and queue it. */
  fire(d: Omit<Delivery, 'id'> & { id?: string }, policy: DeliveryPolicy): Delivery {
    const delivery: Delivery = { ...d, id: d.id ?? randomUUID() };
    appendFileSync(this.outboxFile, `${JSON.stringify({ t: 'fire', id: delivery.id, d: delivery })}\n`);
    this.enqueue(delivery, policy);
    return delivery;
  }

  /** Queue a delivery already in the outbox (after a restart). */
  enqueue(d: Delivery, policy: DeliveryPolicy): void {
    const job: Job = { d, policy, attempts: 0 };
    const wait = d.notBefore - this.now();
    if (wait > 0) this.later(job, wait);
    else this.queue.push(job);
    this.stats.queued = this.queue.length;
    this.pump();
  }

  private later(job: Job, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.queue.push(job);
      this.pump();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private pump(): void {
    const max = this.opts.concurrency ?? 16;
    while (!this.closed && this.inFlight < max && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.inFlight++;
      this.stats.inFlight = this.inFlight;
      void this.attempt(job).finally(() => {
        this.inFlight--;
        this.stats.inFlight = this.inFlight;
        this.pump();
      });
    }
    this.stats.queued = this.queue.length;
  }

  private async attempt(job: Job): Promise<void> {
    job.attempts++;
    const { d, policy } = job;
    const ts = Math.floor(this.now() / 1000);
    let retry = false;
    try {
      const res = await (this.opts.fetch ?? fetch)(d.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'tagverse-webhooks',
          'x-tagverse-delivery': d.id,
          'x-tagverse-timestamp': String(ts),
          'x-tagverse-signature': signature(policy.secret, ts, d.body),
          'x-tagverse-attempt': String(job.attempts),
        },
        body: d.body,
        signal: AbortSignal.timeout(policy.timeoutMs),
      });
      // Drain the body so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        this.finish(job, 'delivered');
        return;
      }
      job.lastError = `HTTP ${res.status}`;
      retry = res.status === 408 || res.status === 429 || res.status >= 500;
    } catch (e) {
      job.lastError = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      retry = true;
    }
    if (retry && job.attempts < policy.maxAttempts && !this.closed) {
      const base = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (job.attempts - 1));
      this.stats.retried++;
      this.later(job, Math.round(base * (0.8 + Math.random() * 0.4)));
      return;
    }
    if (!this.closed) this.finish(job, 'dead');
  }

  private finish(job: Job, outcome: 'delivered' | 'dead'): void {
    const { d } = job;
    appendFileSync(this.outboxFile, `${JSON.stringify({ t: 'done', id: d.id, outcome })}\n`);
    if (outcome === 'delivered') {
      this.stats.delivered++;
      const lat = this.now() - Math.max(d.firedAt, d.notBefore);
      this.stats.latencies.push(lat);
      if (this.stats.latencies.length > 10_000) this.stats.latencies.splice(0, 5_000);
    } else {
      this.stats.dead++;
      appendFileSync(
        this.deadFile,
        `${JSON.stringify({ delivery: d.id, trigger: d.trigger, entity: d.entity, url: d.url, attempts: job.attempts, lastError: job.lastError, firedAt: new Date(d.firedAt).toISOString(), failedAt: new Date(this.now()).toISOString(), body: JSON.parse(d.body) as unknown })}\n`,
      );
      this.opts.log?.(
        `webhook ${d.trigger} for ${d.entity} gave up after ${job.attempts} attempts: ${job.lastError}`,
      );
    }
  }

  /** Deliveries waiting (queued, in flight, or waiting for a retry or the end of quiet hours). */
  get backlog(): number {
    return this.queue.length + this.inFlight + this.timers.size;
  }

  /** Stop sending (what is not delivered stays in the outbox for the next start). */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    void this.pendingOnDisk;
  }
}
