/**
 * The models API the console's Models page reads: every model the project defines (state, version,
 * headline metrics) and one model's card as `tagverse train` wrote it (metrics on the validation
 * rows, gains and lift by decile, calibration, top features), with its ROC curve at the decile
 * cut-offs. Read-only, `tags:read` (model scores are tags); nothing is computed from data here: the
 * card's numbers are the ones `tagverse evaluate` prints.
 */
import { existsSync } from 'node:fs';
import { createRoute, type OpenAPIHono, type z } from '@hono/zod-openapi';
import type { ProjectConfig } from '../config/project.js';
import { listModels } from '../models/evaluate.js';
import { modelPath, readModelFile } from '../models/model-file.js';
import type { ConsoleRouteContext, ConsoleEnv as Env } from './console-routes.js';
import * as S from './console-schemas.js';
import { ApiError } from './problem.js';

type Detail = z.infer<typeof S.ModelDetailSchema>;
type Gains = readonly { readonly count: number; readonly rate: number | null }[];

export function registerModelRoutes(app: OpenAPIHono<Env>, ctx: ConsoleRouteContext): void {
  const { config, need, security, json, problem } = ctx;
  // biome-ignore lint/suspicious/noExplicitAny: the shared error responses are typed where they are declared
  const errors = ctx.errors as any;

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/models',
      tags: ['models'],
      summary: 'Every model the project defines: state, version, validation AUC or RMSE',
      security,
      middleware: [need('tags:read')] as const,
      responses: { 200: json(S.ModelsSchema, 'Models'), ...errors },
    }),
    (c) => c.json(listModels(config) as z.infer<typeof S.ModelsSchema>, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/models/{name}',
      tags: ['models'],
      summary: "A model's card: validation metrics, gains and lift, calibration, top features, ROC",
      security,
      middleware: [need('tags:read')] as const,
      request: { params: S.ModelParams },
      responses: {
        200: json(S.ModelDetailSchema, 'The model and its card'),
        404: problem('Unknown model'),
        ...errors,
      },
    }),
    (c) => c.json(modelDetail(config, c.req.valid('param').name), 200),
  );
}

/** One model with its card (null when untrained); 404 `models.not_found` for a name not defined. */
export function modelDetail(config: ProjectConfig, name: string): Detail {
  const found = listModels(config).models.find((m) => m.name === name);
  if (!found) throw new ApiError(404, 'models.not_found', `unknown model '${name}'`, { field: 'name' });
  const summary = { ...found, tags: [...found.tags] };
  const file = modelPath(config, name);
  if (!existsSync(file)) return { model: summary, card: null, roc: [] };
  const m = readModelFile(file);
  const card = m.card as unknown as NonNullable<Detail['card']>;
  return {
    model: { ...summary, category: m.category, owner: m.owner, status: m.status },
    card,
    roc: card.metrics.kind === 'binary' ? rocAtDeciles(card.metrics.gains) : [],
  };
}

/**
 * ROC points at the decile cut-offs of a binary model's gains table (decile 1 = highest scores):
 * each decile's positives are its rows x its positive rate; "score in deciles 1..d" then has true
 * positive rate (positives so far / all positives) and false positive rate (negatives so far / all
 * negatives). Empty when the table has no positives or no negatives.
 * @example
 *   rocAtDeciles([{ count: 10, rate: 1 }, { count: 10, rate: 0 }]) // [{0,0}, {fpr 0, tpr 1}, {fpr 1, tpr 1}]
 */
export function rocAtDeciles(gains: Gains): Detail['roc'] {
  const pos = gains.map((g) => Math.round(g.count * (g.rate ?? 0)));
  const P = pos.reduce((a, b) => a + b, 0);
  const N = gains.reduce((a, g, i) => a + g.count - pos[i]!, 0);
  if (P <= 0 || N <= 0) return [];
  const out = [{ fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  gains.forEach((g, i) => {
    tp += pos[i]!;
    fp += g.count - pos[i]!;
    out.push({ fpr: fp / N, tpr: tp / P });
  });
  return out;
}
