/**
 * Events from a NATS JetStream stream: a durable pull consumer fetches Segment-shaped messages (one
 * message per call, or `{"batch": [...]}`), hands them to the runtime like HTTP does, and acknowledges
 * them only once they are in the write-ahead log on disk: at least once. A message redelivered after
 * a crash is dropped by messageId (messages without one get `nats:<stream>:<stream sequence>`, which
 * a redelivery repeats).
 *
 * Several Tagverse instances can read one stream: each with its own `durable` name gets every event
 * (replicas); instances sharing a durable name split the events between them. The stream and the
 * consumer are created when missing. A message that is not valid JSON or not a valid Segment message
 * is terminated (not redelivered) and logged.
 */
import {
  AckPolicy,
  type Consumer,
  type ConsumerMessages,
  connect,
  type JsMsg,
  type NatsConnection,
  nanos,
} from 'nats';
import type { NatsConfig } from '../config/project.js';
import type { RealtimeRuntime } from './runtime.js';
import { checkMessage, type SegmentMessage } from './segment-message.js';

export interface NatsStats {
  received: number;
  acked: number;
  invalid: number;
  failures: number;
}

export class NatsConsumer {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private messages: ConsumerMessages | undefined;
  readonly stats: NatsStats = { received: 0, acked: 0, invalid: 0, failures: 0 };

  private constructor(
    private readonly nc: NatsConnection,
    private readonly consumer: Consumer,
    private readonly cfg: NatsConfig,
    private readonly runtime: RealtimeRuntime,
    private readonly log: (m: string) => void,
  ) {}

  /** Connect, make sure the stream and the durable consumer exist, and start consuming. */
  static async start(
    cfg: NatsConfig,
    runtime: RealtimeRuntime,
    opts: { log?: (m: string) => void } = {},
  ): Promise<NatsConsumer> {
    const log = opts.log ?? (() => {});
    const nc = await connect({
      servers: cfg.url,
      reconnect: true,
      maxReconnectAttempts: -1,
      name: 'tagverse',
    });
    const jsm = await nc.jetstreamManager();
    try {
      await jsm.streams.info(cfg.stream);
    } catch {
      await jsm.streams.add({ name: cfg.stream, subjects: [...cfg.subjects] });
      log(`nats: created stream ${cfg.stream} (${cfg.subjects.join(', ')})`);
    }
    try {
      await jsm.consumers.info(cfg.stream, cfg.durable);
    } catch {
      await jsm.consumers.add(cfg.stream, {
        durable_name: cfg.durable,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(cfg.ackWaitMs),
        max_ack_pending: Math.max(1000, cfg.batch * 4),
      });
    }
    const consumer = await nc.jetstream().consumers.get(cfg.stream, cfg.durable);
    const c = new NatsConsumer(nc, consumer, cfg, runtime, log);
    c.loop = c.run();
    log(`nats: consuming ${cfg.stream} as ${cfg.durable} from ${cfg.url}`);
    return c;
  }

  /**
   * Consume: messages are handed to the runtime in groups as they arrive (whatever came in while the
   * previous group was being logged), so a lone event waits for nothing but its own fsync.
   */
  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const messages = await this.consumer.consume({ max_messages: this.cfg.batch });
        this.messages = messages;
        if (this.stopped) {
          await messages.close();
          break;
        }
        let waiting: JsMsg[] = [];
        let handling: Promise<void> | undefined;
        const drain = async () => {
          while (waiting.length > 0) {
            const group = waiting;
            waiting = [];
            await this.handle(group);
          }
          handling = undefined;
        };
        for await (const m of messages) {
          waiting.push(m);
          handling ??= drain();
        }
        await handling;
      } catch (e) {
        if (this.stopped) break;
        this.stats.failures++;
        this.log(`nats: ${e instanceof Error ? e.message : String(e)}; retrying`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async handle(batch: readonly JsMsg[]): Promise<void> {
    this.stats.received += batch.length;
    const messages: SegmentMessage[] = [];
    const good: JsMsg[] = [];
    const receivedAt = Date.now();
    for (const m of batch) {
      let body: unknown;
      try {
        body = JSON.parse(new TextDecoder().decode(m.data));
      } catch {
        this.invalid(m, 'not JSON');
        continue;
      }
      const items =
        body !== null && typeof body === 'object' && Array.isArray((body as { batch?: unknown }).batch)
          ? ((body as { batch: unknown[] }).batch as unknown[])
          : [body];
      const checked: SegmentMessage[] = [];
      let bad: string | undefined;
      items.forEach((item, i) => {
        if (bad) return;
        // A redelivery repeats the stream sequence: a stable id for messages that carry none.
        const withId =
          item !== null &&
          typeof item === 'object' &&
          (item as { messageId?: unknown }).messageId === undefined
            ? { ...(item as object), messageId: `nats:${this.cfg.stream}:${m.info.streamSequence}:${i}` }
            : item;
        const r = checkMessage(withId, items.length > 1 ? `batch.${i}` : '', receivedAt);
        if (r.problem) bad = `${r.problem.field}: ${r.problem.message}`;
        else checked.push(r.message!);
      });
      if (bad) {
        this.invalid(m, bad);
        continue;
      }
      messages.push(...checked);
      good.push(m);
    }
    if (messages.length > 0) await this.runtime.accept(messages, 'nats');
    for (const m of good) m.ack();
    this.stats.acked += good.length;
  }

  private invalid(m: JsMsg, why: string): void {
    this.stats.invalid++;
    this.log(
      `nats: message ${m.info.streamSequence} of ${this.cfg.stream} is not a valid Segment message (${why}); dropped`,
    );
    m.term();
  }

  /** Stop fetching; messages fetched but not logged are redelivered later. */
  async close(): Promise<void> {
    this.stopped = true;
    await this.messages?.close().catch(() => undefined);
    await this.loop?.catch(() => undefined);
    await this.nc.drain().catch(() => undefined);
  }
}
