/**
 * Options of `generateWorld`, validated at the edge: every problem becomes a TagverseError with the
 * stable code `generate.invalid_option` and a message that says what is allowed.
 */
import { TagverseError } from '../util/problems.js';
import { parseIsoDate } from './calendar.js';

export interface GenerateProgress {
  /** 'simulate' (customers simulated), 'write' (files written). */
  readonly phase: string;
  readonly done: number;
  readonly total: number;
}

export interface GenerateOptions {
  /** Number of customers (1..1,000,000). */
  customers: number;
  /** Length of the window in calendar months (1..60). */
  months: number;
  /** Any non-negative integer; the same seed (and options) gives byte-identical files. */
  seed: number;
  /** Output folder (created if missing). */
  out: string;
  /** Data file format (default parquet). */
  format?: 'parquet' | 'csv';
  /** First day of the window, ISO date in Korean time (default 2025-01-01). */
  start?: string;
  onProgress?: (p: GenerateProgress) => void;
  /**
   * Worker threads for the simulation (default: one per core, up to 4, for 20,000+ customers).
   * The output does not depend on it.
   */
  threads?: number;
}

export interface ValidOptions {
  readonly customers: number;
  readonly months: number;
  readonly seed: number;
  readonly out: string;
  readonly format: 'parquet' | 'csv';
  readonly start: string;
  readonly onProgress: (p: GenerateProgress) => void;
  /** undefined: choose by size. */
  readonly threads: number | undefined;
}

export const MAX_CUSTOMERS = 1_000_000;
export const MAX_MONTHS = 60;
/** Everything is held in memory (~20 bytes per transaction) before it is written: bound the total. */
export const MAX_CUSTOMER_MONTHS = 6_000_000;

function invalid(message: string): TagverseError {
  return new TagverseError('generate.invalid_option', message);
}

function positiveInteger(name: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw invalid(`${name} must be a positive whole number, got ${JSON.stringify(value)}`);
  }
  if (value > max) throw invalid(`${name} must be at most ${max.toLocaleString('en-US')}, got ${value}`);
  return value;
}

export function validateOptions(o: GenerateOptions): ValidOptions {
  if (o === null || typeof o !== 'object') throw invalid('options must be an object');
  const customers = positiveInteger('customers', o.customers, MAX_CUSTOMERS);
  const months = positiveInteger('months', o.months, MAX_MONTHS);
  if (customers * months > MAX_CUSTOMER_MONTHS) {
    throw invalid(
      `customers × months must be at most ${MAX_CUSTOMER_MONTHS.toLocaleString('en-US')} (the world is held in memory before writing), got ${customers} × ${months}`,
    );
  }
  if (typeof o.seed !== 'number' || !Number.isSafeInteger(o.seed) || o.seed < 0) {
    throw invalid(`seed must be a non-negative whole number, got ${JSON.stringify(o.seed)}`);
  }
  if (typeof o.out !== 'string' || o.out.trim() === '') throw invalid('out must be a folder path');
  const format = o.format ?? 'parquet';
  if (format !== 'parquet' && format !== 'csv') {
    throw invalid(`format must be 'parquet' or 'csv', got ${JSON.stringify(o.format)}`);
  }
  const start = o.start ?? '2025-01-01';
  const parsed = typeof start === 'string' ? parseIsoDate(start) : undefined;
  if (!parsed) throw invalid(`start must be a date like 2025-01-01, got ${JSON.stringify(o.start)}`);
  if (parsed[0] < 2000 || parsed[0] > 2100)
    throw invalid(`start must be between 2000 and 2100, got ${start}`);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function')
    throw invalid('onProgress must be a function');
  const threads = o.threads === undefined ? undefined : positiveInteger('threads', o.threads, 64);
  return {
    customers,
    months,
    seed: o.seed,
    out: o.out,
    format,
    start,
    onProgress: o.onProgress ?? (() => {}),
    threads,
  };
}
