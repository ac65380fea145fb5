/**
 * Models (shown when the server documents GET /v1/models): each model's metrics, ROC curve, lift and
 * gains by decile, calibration and top features, read from its model card (GET /v1/models/{name}).
 * The card is read defensively (docs/console.md lists the fields looked for): what is missing is not
 * drawn, nothing is made up.
 */
import { useMemo } from 'react';
import { useSession } from '../api/session.js';
import { useApi } from '../api/use-api.js';
import { Chart, type ChartOption } from '../charts/chart.js';
import { Link } from '../router.js';
import { Empty, ErrorNote, Loading, Panel, Stat } from '../ui/components.js';
import { fmtNumber, fmtTime } from '../ui/format.js';
import { firstArray } from '../ui/items.js';
import { type ModelCard, readModelCard } from './model-card.js';

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

function ModelList() {
  const models = useApi((api) => api.request<unknown>('GET', '/v1/models'), []);
  const cards = useMemo(() => firstArray(models.data).map(readModelCard), [models.data]);
  return (
    <div className="page" data-testid="models">
      <h1>Models</h1>
      {models.error ? (
        <ErrorNote error={models.error} />
      ) : !models.data ? (
        <Loading />
      ) : cards.length === 0 ? (
        <Empty>No model is trained yet (tagverse train).</Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>model</th>
              <th>algorithm</th>
              <th>trained</th>
              {['auc', 'prAuc', 'logLoss', 'brier'].map((m) => (
                <th key={m} className="num">
                  {m}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {cards.map((c) => (
              <tr key={c.name}>
                <td>
                  <Link to={`/models/${encodeURIComponent(c.name)}`}>{c.title ?? c.name}</Link>
                </td>
                <td>{c.algorithm ?? '—'}</td>
                <td>{fmtTime(c.trainedAt)}</td>
                {['auc', 'prAuc', 'logLoss', 'brier'].map((m) => (
                  <td key={m} className="num">
                    {fmtNumber(c.metrics[m])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function ModelView(props: { name: string }) {
  const model = useApi(
    (api) => api.request<unknown>('GET', `/v1/models/${encodeURIComponent(props.name)}`),
    [props.name],
  );
  const card = useMemo(() => (model.data ? readModelCard(model.data) : undefined), [model.data]);
  if (model.error)
    return (
      <div className="page">
        <h1>{props.name}</h1>
        <ErrorNote error={model.error} />
      </div>
    );
  if (!card)
    return (
      <div className="page">
        <h1>{props.name}</h1>
        <Loading />
      </div>
    );
  return (
    <div className="page" data-testid="model">
      <p className="crumbs">
        <Link to="/models">Models</Link> / <code>{card.name}</code>
      </p>
      <h1>{card.title ?? card.name}</h1>
      {card.description && <p className="lead">{card.description}</p>}
      <div className="stats">
        {Object.entries(card.metrics).map(([k, v]) => (
          <Stat key={k} label={k} value={fmtNumber(v)} />
        ))}
      </div>
      <div className="columns">
        {card.roc.length > 0 && (
          <Panel title="ROC curve" id="roc" className="grow">
            <Chart option={rocOption(card)} label="ROC curve" height={280} />
            {card.rocFromGains && (
              <p className="muted small">
                At the decile cut-offs of the gains table (the card has no finer curve).
              </p>
            )}
          </Panel>
        )}
        {card.gains.length > 0 && (
          <Panel title="Lift and gains by decile" id="gains" className="grow">
            <Chart option={gainsOption(card)} label="Lift and cumulative gains by decile" height={280} />
          </Panel>
        )}
      </div>
      <div className="columns">
        {card.calibration.length > 0 && (
          <Panel title="Calibration" id="calibration" className="grow">
            <Chart option={calibrationOption(card)} label="Predicted against observed rate" height={280} />
          </Panel>
        )}
        {card.features.length > 0 && (
          <Panel title="Top features" id="features" className="grow">
            <Chart
              option={featuresOption(card)}
              label="Top features by importance"
              height={Math.max(200, 24 * card.features.length)}
            />
          </Panel>
        )}
      </div>
    </div>
  );
}

const unitAxis = { type: 'value' as const, min: 0, max: 1 };

function rocOption(c: ModelCard): ChartOption {
  return {
    grid: { left: 48, right: 16, top: 16, bottom: 40 },
    tooltip: { trigger: 'axis' },
    xAxis: { ...unitAxis, name: 'false positive rate', nameLocation: 'middle', nameGap: 26 },
    yAxis: { ...unitAxis, name: 'true positive rate' },
    series: [
      { type: 'line', name: 'ROC', showSymbol: false, data: c.roc.map((p) => [p.x, p.y]) },
      {
        type: 'line',
        name: 'chance',
        showSymbol: false,
        lineStyle: { type: 'dashed', color: '#adb5bd' },
        data: [
          [0, 0],
          [1, 1],
        ],
      },
    ],
  };
}

function gainsOption(c: ModelCard): ChartOption {
  return {
    grid: { left: 48, right: 48, top: 30, bottom: 30 },
    legend: { top: 0 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', data: c.gains.map((g) => String(g.decile)), name: 'decile' },
    yAxis: [
      { type: 'value', name: 'lift' },
      { ...unitAxis, name: 'cumulative gain' },
    ],
    series: [
      { type: 'bar', name: 'lift', data: c.gains.map((g) => g.lift ?? null) },
      { type: 'line', name: 'cumulative gain', yAxisIndex: 1, data: c.gains.map((g) => g.gain ?? null) },
    ],
  };
}

function calibrationOption(c: ModelCard): ChartOption {
  return {
    grid: { left: 48, right: 16, top: 16, bottom: 40 },
    tooltip: { trigger: 'item' },
    xAxis: { ...unitAxis, name: 'predicted', nameLocation: 'middle', nameGap: 26 },
    yAxis: { ...unitAxis, name: 'observed' },
    series: [
      { type: 'line', name: 'model', data: c.calibration.map((p) => [p.predicted, p.observed]) },
      {
        type: 'line',
        name: 'perfect',
        showSymbol: false,
        lineStyle: { type: 'dashed', color: '#adb5bd' },
        data: [
          [0, 0],
          [1, 1],
        ],
      },
    ],
  };
}

function featuresOption(c: ModelCard): ChartOption {
  const f = [...c.features].reverse();
  return {
    grid: { left: 160, right: 24, top: 8, bottom: 24 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'value' },
    yAxis: { type: 'category', data: f.map((x) => x.name), axisLabel: { width: 150, overflow: 'truncate' } },
    series: [{ type: 'bar', name: 'importance', data: f.map((x) => x.importance) }],
  };
}
