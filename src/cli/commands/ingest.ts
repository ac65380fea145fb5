import type { Command } from 'commander';
import { type IngestResult, ingest } from '../../ingest/ingest.js';
import { fmtInt, fmtSeconds, printJson, printLine } from '../output.js';
import { createProgress } from '../progress.js';

export function registerIngest(program: Command): void {
  program
    .command('ingest')
    .description('load sources into the warehouse (idempotent; bad rows go to the rejects table)')
    .argument('[source...]', 'sources to load (default: all)')
    .option('-p, --project <dir>', 'project folder', '.')
    .option('--replace', 'reload the selected sources from scratch, atomically')
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'no progress output')
    .action(
      async (
        sources: string[],
        o: { project: string; replace?: boolean; json?: boolean; quiet?: boolean },
      ) => {
        const progress = createProgress({ enabled: !o.json && !o.quiet });
        let label = '';
        const result = await ingest(o.project, {
          sources,
          replace: o.replace ?? false,
          onProgress: (p) => {
            if (p.phase === 'load' && p.file) {
              const l = `${p.source}: ${p.file} (${(p.fileIndex ?? 0) + 1}/${p.fileCount})`;
              if (l !== label) {
                label = l;
                progress.step(l);
              }
              if (p.fraction !== undefined) progress.update(p.fraction);
            } else if (p.phase === 'fingerprint' && p.file) {
              progress.step(`${p.source}: fingerprinting ${p.file}`);
            }
          },
        }).finally(() => progress.done());
        if (o.json) return printJson(ingestJson(result));
        printIngestSummary(result);
      },
    );
}

/** The documented --json shape: {"sources":[{"name","rowsLoaded","rowsRejected","files"}...]} plus details. */
export function ingestJson(r: IngestResult): unknown {
  return {
    loadId: r.loadId,
    elapsedMs: r.elapsedMs,
    sources: r.sources.map((s) => ({
      name: s.name,
      kind: s.kind,
      rowsLoaded: s.rowsLoaded,
      rowsRejected: s.rowsRejected,
      files: s.files,
      filesSkipped: s.filesSkipped,
      replaced: s.replaced,
      fileResults: s.fileResults,
      topRejectReasons: s.topRejectReasons,
    })),
    warnings: r.warnings,
  };
}

export function printIngestSummary(r: IngestResult): void {
  for (const s of r.sources) {
    const skipped = s.filesSkipped > 0 ? `, ${s.filesSkipped} file(s) already loaded` : '';
    printLine(
      `${s.name.padEnd(16)} ${fmtInt(s.rowsLoaded).padStart(12)} rows loaded  ${fmtInt(s.rowsRejected).padStart(8)} rejected  from ${s.files} file(s)${skipped}`,
    );
    for (const reason of s.topRejectReasons) printLine(`    ${reason.count} x ${reason.example}`);
  }
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
  printLine(
    `done in ${fmtSeconds(r.elapsedMs)} (load ${r.loadId}); rejected rows are in the table tagverse.rejects`,
  );
}
