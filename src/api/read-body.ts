/**
 * A request body read straight from Node's request stream, up to a limit: past it, reading stops at
 * once (a body sent without a length, chunk after chunk, is never buffered whole before the 413).
 */
import type { Readable } from 'node:stream';

/**
 * A request body up to `max` bytes. Past it, reading stops (the stream is paused, not destroyed, so
 * the 413 still reaches the client, on a connection then closed), like hono's bodyLimit.
 */
export function readLimited(incoming: Readable, max: number): Promise<Buffer | 'too_large' | 'broken'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (r: Buffer | 'too_large' | 'broken') => {
      incoming.off('data', onData).off('end', onEnd).off('error', onBroken).off('close', onBroken);
      resolve(r);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        incoming.pause();
        done('too_large');
      } else chunks.push(chunk);
    };
    const onEnd = () => done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    const onBroken = () => done('broken');
    incoming.on('data', onData).on('end', onEnd).on('error', onBroken).on('close', onBroken);
  });
}
