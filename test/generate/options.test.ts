/** generateWorld refuses bad options with a TagverseError that names the option. */
import { describe, expect, it } from 'vitest';
import { generateWorld } from '../../src/generate/index.js';
import { TagverseError } from '../../src/util/problems.js';

const base = { customers: 10, months: 1, seed: 1, out: '/nonexistent/never-written' };

describe('option validation', () => {
  it.each([
    [{ customers: 0 }, /customers must be a positive whole number/],
    [{ customers: 2.5 }, /customers must be a positive whole number/],
    [{ customers: 2_000_000 }, /customers must be at most 1,000,000/],
    [{ months: 0 }, /months must be a positive whole number/],
    [{ months: 61 }, /months must be at most 60/],
    [{ customers: 500_000, months: 24 }, /customers × months must be at most/],
    [{ seed: -1 }, /seed must be a non-negative whole number/],
    [{ seed: 1.5 }, /seed must be a non-negative whole number/],
    [{ out: '' }, /out must be a folder path/],
    [{ format: 'xlsx' }, /format must be 'parquet' or 'csv'/],
    [{ start: '2025-02-30' }, /start must be a date like 2025-01-01/],
    [{ start: '01/02/2025' }, /start must be a date like 2025-01-01/],
    [{ start: '1899-01-01' }, /start must be between 2000 and 2100/],
    [{ threads: 0 }, /threads must be a positive whole number/],
  ])('rejects %j', async (bad, message) => {
    const options = { ...base, ...bad } as Parameters<typeof generateWorld>[0];
    const error = await generateWorld(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TagverseError);
    expect((error as TagverseError).code).toBe('generate.invalid_option');
    expect((error as TagverseError).message).toMatch(message);
  });
});
