/**
 * The Segment tracking API's message shapes (https://segment.com/docs/connections/spec/): what a
 * call must carry, checked by hand on the hot path (a batch of 500 events is checked in well under a
 * millisecond), and the clock-skew correction Segment applies to `timestamp`.
 *
 * A message is accepted when it has a known `type`, a `userId` or `anonymousId` (strings or numbers),
 * the fields its type needs (`event` for track, `previousId` for alias, `groupId` for group) and, when
 * present, objects for `properties`, `traits` and `context`. Everything else passes through untouched:
 * unknown fields are kept, so a mapping can read any path.
 */
import { randomUUID } from 'node:crypto';

export const SEGMENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

/** A checked message: the fields Tagverse reads, typed; the rest of the JSON is in `raw`. */
export interface SegmentMessage {
  readonly type: SegmentType;
  readonly messageId: string;
  /** True when the client sent no messageId (one was made up: such messages cannot be deduplicated). */
  readonly generatedId: boolean;
  readonly userId?: string;
  readonly anonymousId?: string;
  /** Corrected event time, epoch microseconds. */
  readonly time: number;
  readonly raw: Readonly<Record<string, unknown>>;
}

/** A problem with one message of a request: where (`batch.3.userId`) and what. */
export interface MessageProblem {
  readonly field: string;
  readonly message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function idOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** Epoch ms of an ISO 8601 string or a Date-like value; undefined when absent or unreadable. */
export function parseTime(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Segment's clock-skew correction: a device clock that is off shifts `timestamp` and `sentAt` alike,
 * so `receivedAt - (sentAt - timestamp)` is the event time on the server's clock. Without `sentAt`
 * the timestamp is taken as it is; without a timestamp the event happened when it was received.
 * All in epoch ms.
 */
export function correctedTime(
  timestamp: number | undefined,
  sentAt: number | undefined,
  receivedAt: number,
): number {
  if (timestamp === undefined) return receivedAt;
  if (sentAt === undefined) return timestamp;
  return receivedAt - (sentAt - timestamp);
}

/**
 * Check one message. `type` is the call's type for single-call routes (/v1/track) and undefined in a
 * batch (each item names its own). `defaults` are batch-level fields (`context`, `integrations`,
 * `sentAt`) that items without their own inherit.
 */
export function checkMessage(
  value: unknown,
  where: string,
  receivedAt: number,
  opts: { type?: SegmentType; sentAt?: number; context?: Record<string, unknown> } = {},
): { message?: SegmentMessage; problem?: MessageProblem } {
  const at = (f: string) => (where === '' ? f : `${where}.${f}`);
  if (!isObject(value)) return { problem: { field: where || 'body', message: 'a message is a JSON object' } };
  const typeValue = opts.type ?? value.type;
  if (typeof typeValue !== 'string' || !(SEGMENT_TYPES as readonly string[]).includes(typeValue)) {
    return {
      problem: {
        field: at('type'),
        message: `type must be one of ${SEGMENT_TYPES.join(', ')}${typeValue === undefined ? '' : `, got ${JSON.stringify(typeValue)}`}`,
      },
    };
  }
  const type = typeValue as SegmentType;
  const userId = idOf(value.userId);
  const anonymousId = idOf(value.anonymousId);
  if (userId === undefined && anonymousId === undefined) {
    return { problem: { field: at('userId'), message: 'a userId or an anonymousId is required' } };
  }
  if (type === 'track' && (typeof value.event !== 'string' || value.event.trim() === '')) {
    return { problem: { field: at('event'), message: 'a track call needs an event name' } };
  }
  if (type === 'alias' && idOf(value.previousId) === undefined) {
    return { problem: { field: at('previousId'), message: 'an alias call needs a previousId' } };
  }
  if (type === 'alias' && userId === undefined) {
    return {
      problem: { field: at('userId'), message: 'an alias call needs the userId the previousId joins' },
    };
  }
  if (type === 'group' && idOf(value.groupId) === undefined) {
    return { problem: { field: at('groupId'), message: 'a group call needs a groupId' } };
  }
  for (const f of ['properties', 'traits', 'context', 'integrations'] as const) {
    if (value[f] !== undefined && value[f] !== null && !isObject(value[f])) {
      return { problem: { field: at(f), message: `${f} must be an object` } };
    }
  }
  if (value.messageId !== undefined && value.messageId !== null && idOf(value.messageId) === undefined) {
    return { problem: { field: at('messageId'), message: 'messageId must be a non-empty string' } };
  }
  const timestamp = parseTime(value.timestamp ?? value.originalTimestamp);
  if ((value.timestamp ?? value.originalTimestamp) !== undefined && timestamp === undefined) {
    return { problem: { field: at('timestamp'), message: 'timestamp must be an ISO 8601 date-time' } };
  }
  const sentAt = parseTime(value.sentAt) ?? opts.sentAt;
  const time = correctedTime(timestamp, sentAt, receivedAt);
  const given = idOf(value.messageId);
  const raw =
    opts.context && value.context === undefined
      ? { ...value, type, context: opts.context }
      : { ...value, type };
  return {
    message: {
      type,
      messageId: given ?? `tv-${randomUUID()}`,
      generatedId: given === undefined,
      ...(userId !== undefined ? { userId } : {}),
      ...(anonymousId !== undefined ? { anonymousId } : {}),
      time: Math.round(time * 1000),
      raw,
    },
  };
}

/** The value at a dotted path of a message (`properties.amount`, `context.location.city`). */
export function atPath(message: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
  let v: unknown = message;
  for (const p of path) {
    if (!isObject(v)) return undefined;
    v = v[p];
  }
  return v;
}
