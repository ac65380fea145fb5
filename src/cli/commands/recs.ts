/**
 * Recommendations and offers on the command line: `recommend`, `recs train`, `evaluate recs`
 * (registered as `evaluate-recs`; main.ts routes `evaluate recs` here) and `decide`.
 */
import type { Command } from 'commander';
import { type DecideContext, decide } from '../../offers/index.js';
import { ALGORITHMS, type Algorithm } from '../../recs/algorithms.js';
import { evaluateRecommender, type Holdout } from '../../recs/evaluate.js';
import { recommend } from '../../recs/index.js';
import { trainRecommender } from '../../recs/train.js';
import { TagverseError } from '../../util/problems.js';
import { fmtInt, printJson, printLine } from '../output.js';
import { createProgress } from '../progress.js';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new TagverseError('cli.invalid', `${name} must be a positive whole number`);
  return n;
};

export function registerRecs(program: Command): void {
  program
    .command('recommend')
    .description("an entity's top items from a trained recommender (recs/*.yaml), filters applied")
    .argument('<id>', 'entity id')
    .option('-p, --project <dir>', 'project folder', '.')
    .option('-r, --recommender <name>', 'which recommender (default: the only one)')
    .option('-k, --k <n>', 'how many items', int('--k'), 10)
    .option('--json', 'print the result as JSON')
    .action(async (id: string, o: { project: string; recommender?: string; k: number; json?: boolean }) => {
      const r = await recommend(o.project, id, {
        k: o.k,
        ...(o.recommender ? { recommender: o.recommender } : {}),
      });
      if (o.json) return printJson(r);
      printLine(
        `${r.entityId}: ${r.recommender} v${r.version} (${r.algorithm})${r.coldStart ? ', no history: popular items' : ''}`,
      );
      if (!r.eligible) return printLine('  not eligible (outside the eligibility segment)');
      for (const it of r.items) {
        printLine(
          `  ${String(it.rank).padStart(3)}. ${it.item.padEnd(24)} ${it.score.toFixed(4).padStart(10)}  ${it.reasons.join('; ')}`,
        );
      }
    });

  const recs = program.command('recs').description('recommenders: train them (tagverse recs train [name])');
  recs
    .command('train')
    .description('train a recommender (recs/<name>.yaml) and write a new version of its model file')
    .argument('[name]', 'recommender name (default: the only one)')
    .option('-p, --project <dir>', 'project folder', '.')
    .option('--algorithm <name>', `override the algorithm (${ALGORITHMS.join(', ')})`)
    .option('--json', 'print the model card as JSON')
    .option('-q, --quiet', 'no progress output')
    .action(
      async (
        name: string | undefined,
        o: { project: string; algorithm?: string; json?: boolean; quiet?: boolean },
      ) => {
        if (o.algorithm !== undefined && !(ALGORITHMS as readonly string[]).includes(o.algorithm)) {
          throw new TagverseError('cli.invalid', `--algorithm must be one of ${ALGORITHMS.join(', ')}`);
        }
        const progress = createProgress({ enabled: !o.json && !o.quiet });
        const r = await trainRecommender(o.project, name, {
          ...(o.algorithm ? { algorithm: o.algorithm as Algorithm } : {}),
          onProgress: (s) => progress.step(s),
        }).finally(() => progress.done());
        if (o.json) return printJson(r);
        const c = r.card;
        printLine(
          `trained ${c.name} v${c.version} (${c.algorithm}) in ${c.trainSeconds.toFixed(2)} s -> ${r.file}`,
        );
        printLine(
          `  ${fmtInt(c.events)} events, ${fmtInt(c.entities)} entities, ${fmtInt(c.items)} items (${fmtInt(c.modelledItems)} modelled), as of ${c.asOf}`,
        );
      },
    );

  program
    .command('evaluate-recs')
    .description('evaluate a recommender, every algorithm side by side (also: tagverse evaluate recs [name])')
    .argument('[name]', 'recommender name (default: the only one)')
    .option('-p, --project <dir>', 'project folder', '.')
    .option('-k, --k <n>', 'list length K of the metrics', int('--k'), 10)
    .option('--last <n>', "hold out each entity's last n events", int('--last'))
    .option('--after <date>', 'hold out events at or after this date (default: 80% through the data)')
    .option('--targets <which>', 'relevant items: new (not bought in training) or all')
    .option('--algorithms <list>', `comma-separated (default: ${ALGORITHMS.join(',')})`)
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'no progress output')
    .action(
      async (
        name: string | undefined,
        o: {
          project: string;
          k: number;
          last?: number;
          after?: string;
          targets?: string;
          algorithms?: string;
          json?: boolean;
          quiet?: boolean;
        },
      ) => {
        if (o.last !== undefined && o.after !== undefined)
          throw new TagverseError('cli.invalid', 'give --last or --after, not both');
        if (o.targets !== undefined && o.targets !== 'new' && o.targets !== 'all') {
          throw new TagverseError('cli.invalid', '--targets must be new or all');
        }
        const algorithms = o.algorithms?.split(',').map((s) => s.trim());
        for (const a of algorithms ?? []) {
          if (!(ALGORITHMS as readonly string[]).includes(a)) {
            throw new TagverseError('cli.invalid', `unknown algorithm '${a}' (${ALGORITHMS.join(', ')})`);
          }
        }
        const holdout: Holdout | undefined =
          o.last !== undefined
            ? { kind: 'last', n: o.last }
            : o.after !== undefined
              ? { kind: 'after', date: o.after }
              : undefined;
        const progress = createProgress({ enabled: !o.json && !o.quiet });
        const e = await evaluateRecommender(o.project, name, {
          k: o.k,
          ...(holdout ? { holdout } : {}),
          ...(o.targets ? { targets: o.targets as 'new' | 'all' } : {}),
          ...(algorithms ? { algorithms: algorithms as Algorithm[] } : {}),
          onProgress: (s) => progress.step(s),
        }).finally(() => progress.done());
        if (o.json) return printJson(e);
        const h = e.protocol.holdout;
        printLine(
          `${e.recommender}: ${h.kind === 'after' ? `held out events from ${h.date}` : `held out each entity's last ${h.n} events`}; relevant = ${e.protocol.targets} items`,
        );
        printLine(
          `  ${fmtInt(e.events.train)} training / ${fmtInt(e.events.test)} held-out events, ${fmtInt(e.entities)} entities evaluated, catalogue ${fmtInt(e.catalogue)} items`,
        );
        const K = e.k;
        printLine(`  algorithm    Recall@${K}  NDCG@${K}  MAP@${K}  coverage  vs popularity  train s`);
        for (const r of e.results) {
          printLine(
            `  ${r.algorithm.padEnd(11)} ${r.recall.toFixed(4).padStart(9)} ${r.ndcg.toFixed(4).padStart(8)} ${r.map.toFixed(4).padStart(7)} ${(r.coverage * 100).toFixed(1).padStart(8)}% ${(r.ndcgVsPopularity?.toFixed(2) ?? 'n/a').padStart(13)} ${r.trainSeconds.toFixed(2).padStart(8)}`,
          );
        }
      },
    );

  program
    .command('decide')
    .description(
      'rank the offers (offers/*.yaml) for an entity in a context, with reasons (a dry run unless --grant)',
    )
    .argument('<id>', 'entity id')
    .option('-p, --project <dir>', 'project folder', '.')
    .option(
      '--context <json>',
      'the context: {"time", "channel", "location": {"lat", "lon"} | {"city"}, "weather"}',
      '{}',
    )
    .option('--limit <n>', 'offers to return', int('--limit'), 3)
    .option(
      '--grant',
      'grant the returned offers (uses budgets and caps; not while a server owns the ledger)',
    )
    .option('--json', 'print the result as JSON')
    .action(
      async (
        id: string,
        o: { project: string; context: string; limit: number; grant?: boolean; json?: boolean },
      ) => {
        let context: unknown;
        try {
          context = JSON.parse(o.context);
        } catch {
          throw new TagverseError('cli.invalid', '--context must be JSON, e.g. \'{"channel": "app"}\'');
        }
        if (context === null || typeof context !== 'object' || Array.isArray(context)) {
          throw new TagverseError('cli.invalid', '--context must be a JSON object');
        }
        const d = await decide(
          o.project,
          { entityId: id, context: context as DecideContext, limit: o.limit },
          { grant: o.grant === true },
        );
        if (o.json) return printJson(d);
        printLine(
          `${d.entityId} at ${d.localTime}: ${d.eligible} of ${d.considered} offers eligible${d.granted ? ' (granted)' : ''}`,
        );
        for (const [i, x] of d.offers.entries()) {
          printLine(`  ${i + 1}. ${x.id} — ${x.title}  score ${x.score.toFixed(3)}`);
          if (x.reasons.length > 0) printLine(`     ${x.reasons.join(', ')}`);
        }
      },
    );
}
