/**
 * Models (shown when the server documents GET /v1/models): every model the project defines with its
 * state and validation metrics, and each model's card as `tagverse train` wrote it (GET
 * /v1/models/{name}): metrics, ROC at the decile cut-offs, lift and cumulative gains by decile,
 * calibration, top features, baselines. Every figure is the card's; what a card lacks is not drawn.
 */
import { useSession } from '../api/session.js';
import type { ModelCard, ModelDetail } from '../api/types.js';
import { useApi } from '../api/use-api.js';
import { Chart, type ChartOption } from '../charts/chart.js';
import { Link } from '../router.js';
import {
  Badge,
  CategoryBadge,
  Empty,
  ErrorNote,
  Loading,
  Panel,
  Stat,
  StatusBadge,
} from '../ui/components.js';
import { fmtInt, fmtNumber, fmtTime } from '../ui/format.js';

export function ModelsPage(props: { name?: string }) {
  const { features, featuresKnown } = useSession();
  if (!featuresKnown)
    return (
      <div className="page">
        <h1>Models</h1>
        <Loading />
      </div>
    );
  if (!features.models)
    return (
      <div className="page">
        <h1>Models</h1>
        <Empty>This server has no models API yet.</Empty>
      </div>
    );
  return props.name === undefined ? <ModelList /> : <ModelView name={props.name} />;
}

const STATE_TONE = { trained: 'good', stale: 'bad', untrained: 'muted' } as const;

function ModelList() {
  const models = useApi((api) => api.models(), []);
  return (
    <div className="page" data-testid="models" data-ready={models.data ? 'true' : undefined}>
      <h1>Models</h1>
      {models.error ? (
        <ErrorNote error={models.error} />
      ) : !models.data ? (
        <Loading />
      ) : models.data.models.length === 0 ? (
        <Empty>The project defines no model (models/*.yaml).</Empty>
      ) : (
        <table className="table" data-testid="model-table">
          <thead>
            <tr>
              <th>model</th>
              <th>algorithm</th>
              <th>state</th>
              <th>trained</th>
              <th className="num">rows</th>
              <th className="num">features</th>
              <th className="num">AUC</th>
              <th className="num">PR-AUC</th>
              <th className="num">RMSE</th>
            </tr>
          </thead>
          <tbody>
            {models.data.models.map((m) => (
              <tr key={m.name} data-model={m.name}>
                <td>
                  <Link to={`/models/${encodeURIComponent(m.name)}`}>{m.title}</Link>
                  <div className="muted small">{m.description}</div>
                </td>
                <td>{m.algorithm}</td>
                <td>
                  <Badge tone={STATE_TONE[m.state]}>{m.state}</Badge>
                  {m.version !== undefined && <span className="muted small"> v{m.version}</span>}
                </td>
                <td>{fmtTime(m.trainedAt)}</td>
                <td className="num">{fmtInt(m.rows)}</td>
                <td className="num">{fmtInt(m.features)}</td>
                <td className="num" data-metric="auc">
                  {fmtNumber(m.auc)}
                </td>
                <td className="num" data-metric="prAuc">
                  {fmtNumber(m.prAuc)}
                </td>
                <td className="num" data-metric="rmse">
                  {fmtNumber(m.rmse)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {models.data && models.data.problems.length > 0 && (
        <Panel title="Definitions with problems">
          <pre className="code">{models.data.problems.join('\n')}</pre>
        </Panel>
      )}
    </div>
  );
}

/** The card's headline metrics, in the order a reader looks for them. */
const METRICS = [
  ['auc', 'AUC'],
  ['prAuc', 'PR-AUC'],
  ['logLoss', 'log loss'],
  ['brier', 'Brier'],
  ['baseRate', 'base rate'],
  ['rmse', 'RMSE'],
  ['mae', 'MAE'],
  ['r2', 'R²'],
  ['mean', 'mean label'],
] as const;

function ModelView(props: { name: string }) {
  const detail = useApi((api) => api.model(props.name), [props.name]);
  if (detail.error)
    return (
      <div className="page">
        <h1>{props.name}</h1>
        <ErrorNote error={detail.error} />
      </div>
    );
  if (!detail.data)
    return (
      <div className="page">
        <h1>{props.name}</h1>
        <Loading />
      </div>
    );
  const { model, card } = detail.data;
  return (
    <div className="page" data-testid="model" data-ready="true">
      <p className="crumbs">
        <Link to="/models">Models</Link> / <code>{model.name}</code>
      </p>
      <h1>{model.title}</h1>
      <p className="lead">{model.description}</p>
      <p className="badges">
        {model.category && <CategoryBadge category={model.category} />}{' '}
        {model.status && <StatusBadge status={model.status} />} <Badge>{model.algorithm}</Badge>{' '}
        <Badge tone={STATE_TONE[model.state]}>{model.state}</Badge>
        {model.owner && <span className="muted small"> owner {model.owner}</span>}
      </p>
      {card === null ? (
        <Empty>Not trained yet: run tagverse train {model.name}.</Empty>
      ) : (
        <CardView card={card} detail={detail.data} />
      )}
    </div>
  );
}

function CardView(props: { card: ModelCard; detail: ModelDetail }) {
  const { card } = props;
  const m = card.metrics;
  const calibration = m.calibration ?? [];
  return (
    <>
      <div className="stats" data-testid="model-metrics">
        {METRICS.filter(([k]) => m[k] !== undefined).map(([k, label]) => (
          <Stat key={k} label={label} value={fmtNumber(m[k])} testId={`metric-${k}`} />
        ))}
        <Stat
          label="validation rows"
          value={fmtInt(card.rows.validation)}
          hint={
            card.validation.method === 'last_cutoff'
              ? `cut-off ${card.validation.cutoff?.slice(0, 10) ?? ''}`
              : `holdout ${fmtNumber(card.validation.holdout)}`
          }
        />
        <Stat label="training rows" value={fmtInt(card.rows.train)} hint={`version ${card.version}`} />
      </div>
      <p className="muted small">
        Label: <code>{card.label.text}</code>
        {card.label.horizon ? ` over ${card.label.horizon}` : ''}
        {card.filter ? (
          <>
            {' '}
            for <code>{card.filter}</code>
          </>
        ) : null}
        ; trained {fmtTime(card.trainedAt)} on cut-offs {card.cutoffs.map((c) => c.slice(0, 10)).join(', ')}.
      </p>
      <div className="columns">
        {props.detail.roc.length > 0 && (
          <Panel title="ROC curve" id="roc" className="grow">
            <Chart option={rocOption(props.detail)} label="ROC curve" height={280} />
            <p className="muted small">At the decile cut-offs of the validation gains table.</p>
          </Panel>
        )}
        {m.gains.length > 0 && (
          <Panel title="Lift and gains by decile" id="gains" className="grow">
            <Chart option={gainsOption(card)} label="Lift and cumulative gains by decile" height={280} />
          </Panel>
        )}
      </div>
      <div className="columns">
        {calibration.length > 0 && (
          <Panel title="Calibration" id="calibration" className="grow">
            <Chart option={calibrationOption(card)} label="Predicted against observed rate" height={280} />
          </Panel>
        )}
        {card.topFeatures.length > 0 && (
          <Panel title="Top features" id="features" className="grow">
            <Chart
              option={featuresOption(card)}
              label="Top features by importance"
              height={Math.max(200, 24 * Math.min(20, card.topFeatures.length))}
            />
          </Panel>
        )}
      </div>
      {card.comparison && card.comparison.length > 0 && (
        <Panel title="Against baselines (validation rows)" id="comparison">
          <table className="table" data-testid="model-comparison">
            <thead>
              <tr>
                <th>score</th>
                {['AUC', 'PR-AUC', 'threshold', 'F1', 'precision', 'recall'].map((h) => (
                  <th key={h} className="num">
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {card.comparison.map((c) => (
                <tr key={c.name}>
                  <td>{c.name}</td>
                  {[c.auc, c.prAuc, c.threshold, c.f1, c.precision, c.recall].map((v, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: fixed columns
                    <td key={i} className="num">
                      {fmtNumber(v)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </Panel>
      )}
      {card.warnings.length > 0 && (
        <Panel title="Warnings">
          <ul>
            {card.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </Panel>
      )}
    </>
  );
}

const unitAxis = { type: 'value' as const, min: 0, max: 1 };
const diagonal = {
  type: 'line' as const,
  showSymbol: false,
  lineStyle: { type: 'dashed' as const, color: '#adb5bd' },
  data: [
    [0, 0],
    [1, 1],
  ],
};

function rocOption(d: ModelDetail): ChartOption {
  return {
    grid: { left: 48, right: 16, top: 16, bottom: 40 },
    tooltip: { trigger: 'axis' },
    xAxis: { ...unitAxis, name: 'false positive rate', nameLocation: 'middle', nameGap: 26 },
    yAxis: { ...unitAxis, name: 'true positive rate' },
    series: [
      { type: 'line', name: 'ROC', data: d.roc.map((p) => [p.fpr, p.tpr]) },
      { ...diagonal, name: 'chance' },
    ],
  };
}

function gainsOption(c: ModelCard): ChartOption {
  const g = c.metrics.gains;
  return {
    grid: { left: 48, right: 48, top: 30, bottom: 30 },
    legend: { top: 0 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', data: g.map((x) => String(x.decile)), name: 'decile' },
    yAxis: [
      { type: 'value', name: 'lift' },
      { ...unitAxis, name: 'cumulative gain' },
    ],
    series: [
      { type: 'bar', name: 'lift', data: g.map((x) => x.lift) },
      { type: 'line', name: 'cumulative gain', yAxisIndex: 1, data: g.map((x) => x.cumulativeGain) },
    ],
  };
}

function calibrationOption(c: ModelCard): ChartOption {
  return {
    grid: { left: 48, right: 16, top: 16, bottom: 40 },
    tooltip: { trigger: 'item' },
    xAxis: { ...unitAxis, name: 'mean predicted', nameLocation: 'middle', nameGap: 26 },
    yAxis: { ...unitAxis, name: 'observed rate' },
    series: [
      {
        type: 'line',
        name: 'model',
        data: (c.metrics.calibration ?? []).map((b) => [b.meanPredicted, b.observedRate]),
      },
      { ...diagonal, name: 'perfect' },
    ],
  };
}

function featuresOption(c: ModelCard): ChartOption {
  const f = c.topFeatures.slice(0, 20).reverse();
  return {
    grid: { left: 170, right: 24, top: 8, bottom: 24 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'value', name: 'share of importance' },
    yAxis: { type: 'category', data: f.map((x) => x.name), axisLabel: { width: 160, overflow: 'truncate' } },
    series: [{ type: 'bar', name: 'share', data: f.map((x) => x.share) }],
  };
}
