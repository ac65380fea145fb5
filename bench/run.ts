/**
 * Runs the named benchmarks (all when none are named): `npm run bench -- ingest generate`.
 * Each `bench/*.bench.ts` module default-exports a Benchmark.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Benchmark, runBenchmark } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();
const benches: Benchmark[] = [];
for (const f of files) {
  const mod = (await import(pathToFileURL(path.join(here, f)).href)) as { default: Benchmark };
  benches.push(mod.default);
}
const unknown = wanted.filter((w) => !benches.some((b) => b.name === w));
if (unknown.length > 0) {
  console.error(
    `unknown benchmark(s): ${unknown.join(', ')}; available: ${benches.map((b) => b.name).join(', ')}`,
  );
  process.exit(2);
}
let failed = false;
for (const b of benches.filter((x) => wanted.length === 0 || wanted.includes(x.name))) {
  process.stderr.write(`\n== ${b.name}: ${b.description}\n`);
  try {
    const result = await runBenchmark(b, path.join(here, 'results'));
    console.log(
      JSON.stringify({ benchmark: b.name, figures: result.figures, peakRssMiB: result.peakRssMiB }, null, 2),
    );
  } catch (e) {
    failed = true;
    console.error(`benchmark ${b.name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
}
process.exit(failed ? 1 : 0);
