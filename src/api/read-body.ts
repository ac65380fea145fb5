/**
 * A request body read straight from Node's request stream, up to a limit: past it, reading stops at
 * once (a body sent without a length, chunk after chunk, is never buffered whole before the 413).
 */
import type { Readable } from 'node:stream';
import { ApiError } from './problem.js';

/**
 * A request body up to `max` bytes. Past it, reading stops (the stream is paused, not destroyed, so
 * the 413 the caller sends still reaches the client, on a connection then closed), like hono's
 * bodyLimit. A body cut off (the client went away, the stream broke) is a 400.
 */
export async function readLimited(incoming: Readable, max: number): Promise<Buffer | 'too_large'> {
  const body = await readUpTo(incoming, max);
  if (body === 'broken') {
    throw new ApiError(400, 'request.invalid', 'body: the request body could not be read', { field: 'body' });
  }
  return body;
}

function readUpTo(incoming: Readable, max: number): Promise<Buffer | 'too_large' | 'broken'> {
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
