/** The serve log's suggestion of 64 MB semi-spaces for heavy ingestion: given only when not set already. */
import { describe, expect, test } from 'vitest';
import { youngGenerationHint } from '../../src/api/realtime-server.js';

describe('youngGenerationHint', () => {
  test('suggests the flag when neither the command line nor NODE_OPTIONS sets it', () => {
    expect(youngGenerationHint([], undefined)).toMatch(/NODE_OPTIONS=--max-semi-space-size=64/);
    expect(youngGenerationHint(['--enable-source-maps'], '--max-old-space-size=4096')).toMatch(/semi-space/);
    // A different flag that merely starts the same way is not it.
    expect(youngGenerationHint(['--max-semi-space-sizes=1'], undefined)).toBeDefined();
  });

  test('is quiet once the size is set, in any spelling Node accepts', () => {
    expect(youngGenerationHint(['--max-semi-space-size=32'], undefined)).toBeUndefined();
    expect(youngGenerationHint(['--max_semi_space_size=64'], undefined)).toBeUndefined();
    expect(youngGenerationHint([], '--max-old-space-size=4096 --max-semi-space-size=64')).toBeUndefined();
    expect(youngGenerationHint([], '--max-semi-space-size 64')).toBeUndefined();
  });
});
