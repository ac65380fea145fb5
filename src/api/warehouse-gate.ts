/**
 * Requests that need the warehouse (profiles as of a past time, explanations) take turns: one at a
 * time per server (a DuckDB file opened twice by one process is asking for trouble), each within the
 * query time limit. A caller that waits too long gets `warehouse.timeout` (503 with Retry-After)
 * while the server goes on answering everything the in-memory store serves.
 */
import { ApiError } from './problem.js';

export class WarehouseGate {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  constructor(
    private readonly timeoutMs: number,
    private readonly maxWaiting = 32,
  ) {}

  run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.waiting >= this.maxWaiting) {
      return Promise.reject(
        new ApiError(503, 'warehouse.busy', 'too many warehouse queries are waiting; try again shortly', {
          headers: { 'retry-after': '2' },
        }),
      );
    }
    this.waiting++;
    const result = this.tail.then(fn, fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    result.then(
      () => this.waiting--,
      () => this.waiting--,
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ApiError(
              503,
              'warehouse.timeout',
              `the warehouse query took longer than ${this.timeoutMs} ms (api.limits.query_timeout_ms)`,
              { headers: { 'retry-after': '5' } },
            ),
          ),
        this.timeoutMs,
      );
    });
    return Promise.race([result, timeout]).finally(() => clearTimeout(timer));
  }
}
