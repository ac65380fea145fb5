/**
 * One tag: its definition (highlighted, names linked), governance, the distribution of its values,
 * coverage over time from tag history, its versions, what it reads and what reads it, and a few
 * entities that have it.
 */
import { useMemo } from 'react';
import type { Distribution, TagDetail } from '../../../src/client/index.js';
import type { Lineage, TagHistory } from '../api/types.js';
import { useApi } from '../api/use-api.js';
import { Chart, type ChartOption, categoryColor } from '../charts/chart.js';
import { Highlighted } from '../lang/highlight.js';
import { Link, navigate } from '../router.js';
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
import { fmtInt, fmtNumber, fmtShare, fmtTime, tooltipLines } from '../ui/format.js';

/** Definition fields written in the tag language (highlighted); the rest is prose or a plain value. */
const PROSE = new Set([
  'name',
  'title',
  'description',
  'category',
  'owner',
  'status',
  'type',
  'kind',
  'from',
]);

export function TagPage(props: { name: string }) {
  const { name } = props;
  const tag = useApi((api) => api.tv.tag(name), [name]);
  const history = useApi((api) => api.tagHistory(name), [name]);
  const lineage = useApi((api) => api.lineage(name), [name]);
  const catalog = useApi((api) => api.tags(), []);
  const t = tag.data;
  // Entities that "have" the tag: true booleans, non-empty lists, any value otherwise.
  const sampleExpr = t
    ? t.type === 'boolean'
      ? name
      : t.type === 'list'
        ? `size(${name}) > 0`
        : `${name} is not null`
    : undefined;
  const sample = useApi(
    (api) => (sampleExpr ? api.tv.previewSegment(sampleExpr, { sample: 12 }) : Promise.resolve(undefined)),
    [sampleExpr],
  );
  const tagNames = useMemo(() => new Set((catalog.data ?? []).map((x) => x.name)), [catalog.data]);

  if (tag.error)
    return (
      <div className="page">
        <h1>{name}</h1>
        <ErrorNote error={tag.error} />
      </div>
    );
  if (!t)
    return (
      <div className="page">
        <h1>{name}</h1>
        <Loading />
      </div>
    );

  return (
    <div
      className="page"
      data-testid="tag-page"
      data-ready={history.data && lineage.data && sample.data ? 'true' : undefined}
    >
      <p className="crumbs">
        <Link to="/tags">Tags</Link> / <code>{t.name}</code>
      </p>
      <h1>{t.title}</h1>
      <p className="lead">{t.description}</p>
      <div className="badges">
        <CategoryBadge category={t.category} />
        <StatusBadge status={t.status} />
        <Badge>{t.kind}</Badge>
        <Badge>{t.type}</Badge>
        <Badge title="owner">owner: {t.owner}</Badge>
        <Badge title="version: a hash of the definition">v {t.version}</Badge>
      </div>
      <div className="stats">
        <Stat label="have a value" value={fmtShare(t.coverage.nonNull)} testId="tag-coverage" />
        {t.coverage.trueShare !== undefined && (
          <Stat label={t.type === 'list' ? 'not empty' : 'true'} value={fmtShare(t.coverage.trueShare)} />
        )}
        {t.coverage.mean !== undefined && <Stat label="mean" value={fmtNumber(t.coverage.mean)} />}
        {t.coverage.distinct !== undefined && (
          <Stat label="distinct values" value={fmtInt(t.coverage.distinct)} />
        )}
        <Stat label="entities served" value={fmtInt(t.entities)} hint={`build #${t.buildId}`} />
      </div>
      <div className="columns">
        <Panel title="Definition" id="definition" className="grow">
          <dl className="definition" data-testid="definition">
            {Object.entries(t.definition).map(([k, v]) => (
              <div key={k}>
                <dt>{k}:</dt>
                <dd>
                  {typeof v === 'string' && !PROSE.has(k) ? (
                    <code className="code">
                      <Highlighted text={v} tags={tagNames} />
                    </code>
                  ) : (
                    <span className={typeof v === 'string' ? 'prose' : 'code'}>
                      {typeof v === 'string' ? v : JSON.stringify(v)}
                    </span>
                  )}
                </dd>
              </div>
            ))}
          </dl>
        </Panel>
        <Panel title="Distribution" id="distribution" className="grow">
          <DistributionChart d={t.distribution} tag={t} />
        </Panel>
      </div>
      <div className="columns">
        <Panel title="Coverage over time" id="coverage-history" className="grow">
          {history.error ? (
            <ErrorNote error={history.error} />
          ) : !history.data ? (
            <Loading />
          ) : (
            <CoverageHistory h={history.data} type={t.type} />
          )}
        </Panel>
        <Panel title="Versions" id="versions" className="grow">
          {history.error ? (
            <ErrorNote error={history.error} />
          ) : !history.data ? (
            <Loading />
          ) : (
            <Versions h={history.data} current={t} />
          )}
        </Panel>
      </div>
      <Panel title="Dependencies" id="lineage">
        {lineage.error ? (
          <ErrorNote error={lineage.error} />
        ) : !lineage.data ? (
          <Loading />
        ) : (
          <LineageView l={lineage.data} />
        )}
      </Panel>
      <Panel
        title="Sample entities"
        id="sample"
        actions={
          sampleExpr && <Link to={`/segments?expr=${encodeURIComponent(sampleExpr)}`}>Open as a segment</Link>
        }
      >
        {sample.error ? (
          <ErrorNote error={sample.error} />
        ) : !sample.data ? (
          <Loading />
        ) : (
          <>
            <p className="muted">
              {fmtInt(sample.data.count)} of {fmtInt(sample.data.total)} match{' '}
              <code>{sample.data.expression}</code>
            </p>
            {sample.data.sample.length === 0 ? (
              <Empty>None.</Empty>
            ) : (
              <ul className="chips" data-testid="sample-entities">
                {sample.data.sample.map((id) => (
                  <li key={id}>
                    <Link to={`/customers/${encodeURIComponent(id)}?tag=${encodeURIComponent(name)}`}>
                      {id}
                    </Link>
                  </li>
                ))}
              </ul>
            )}
          </>
        )}
      </Panel>
    </div>
  );
}

function label(v: number | string): string {
  return typeof v === 'number' ? fmtNumber(v) : fmtTime(v).replace(' 00:00 UTC', '');
}

function DistributionChart(props: { d: Distribution; tag: TagDetail }) {
  const { d } = props;
  const color = categoryColor(props.tag.category);
  const option = useMemo<ChartOption>(() => {
    const base = {
      grid: { left: 64, right: 16, top: 16, bottom: 40 },
      tooltip: { trigger: 'axis' as const },
    };
    switch (d.kind) {
      case 'boolean':
        return {
          ...base,
          xAxis: { type: 'category', data: ['true', 'false', 'null'] },
          yAxis: { type: 'value' },
          series: [{ type: 'bar', name: 'entities', data: [d.true, d.false, d.null], itemStyle: { color } }],
        };
      case 'histogram':
        return {
          ...base,
          xAxis: {
            type: 'category',
            data: d.bins.map((b) => `${label(b.from)} – ${label(b.to)}`),
            axisLabel: { rotate: 30, fontSize: 10 },
          },
          yAxis: { type: 'value' },
          series: [
            {
              type: 'bar',
              name: 'entities',
              data: d.bins.map((b) => b.count),
              itemStyle: { color },
              barCategoryGap: '4%',
            },
          ],
        };
      case 'top_values': {
        const values = [...d.values].reverse();
        return {
          ...base,
          grid: { left: 120, right: 24, top: 8, bottom: 24 },
          xAxis: { type: 'value' },
          yAxis: {
            type: 'category',
            data: values.map((v) => v.value),
            axisLabel: { width: 110, overflow: 'truncate' },
          },
          series: [{ type: 'bar', name: 'entities', data: values.map((v) => v.count), itemStyle: { color } }],
        };
      }
    }
  }, [d, color]);
  const note =
    d.kind === 'boolean'
      ? `${fmtInt(d.true)} true, ${fmtInt(d.false)} false, ${fmtInt(d.null)} unknown`
      : d.kind === 'histogram'
        ? d.min === null
          ? 'No values.'
          : `from ${label(d.min)} to ${label(d.max!)}; ${fmtInt(d.null)} without a value`
        : `${fmtInt(d.distinct)} distinct values; ${fmtInt(d.null)} without a value`;
  return (
    <>
      <Chart
        option={option}
        label={`Distribution of ${props.tag.name}: ${note}`}
        testId="distribution-chart"
      />
      <p className="muted small">{note}</p>
    </>
  );
}

function CoverageHistory(props: { h: TagHistory; type: string }) {
  const points = props.h.coverage;
  const option = useMemo<ChartOption>(
    () => ({
      grid: { left: 48, right: 16, top: 30, bottom: 30 },
      tooltip: { trigger: 'axis', valueFormatter: (v) => fmtShare(Number(v)) },
      legend: { top: 0 },
      xAxis: { type: 'time' },
      yAxis: {
        type: 'value',
        min: 0,
        max: 1,
        axisLabel: { formatter: (v: number) => `${Math.round(v * 100)}%` },
      },
      series: [
        {
          type: 'line',
          name: 'has a value',
          showSymbol: true,
          data: points.map((p) => [p.at, p.entities ? p.nonNull / p.entities : 0]),
        },
        ...(props.type === 'boolean'
          ? [
              {
                type: 'line' as const,
                name: 'true',
                showSymbol: true,
                data: points.map((p) => [p.at, p.entities ? (p.true ?? 0) / p.entities : 0]),
              },
            ]
          : []),
      ],
    }),
    [points, props.type],
  );
  if (points.length === 0) return <Empty>No tag history yet: it is written by each build.</Empty>;
  return (
    <>
      <Chart
        option={option}
        height={220}
        label="Coverage at each time tag history was written"
        testId="coverage-history-chart"
      />
      <p className="muted small">
        {points.length === 1
          ? 'One point: history grows with each build at a later as-of time (tagverse build --as-of).'
          : `${points.length} points from ${fmtTime(points[0]!.at)} to ${fmtTime(points[points.length - 1]!.at)}.`}
      </p>
    </>
  );
}

function Versions(props: { h: TagHistory; current: TagDetail }) {
  const versions = [...props.h.versions].reverse();
  if (versions.length === 0) return <Empty>Not built yet.</Empty>;
  return (
    <table className="table" data-testid="versions">
      <thead>
        <tr>
          <th>version</th>
          <th>recorded</th>
          <th>build</th>
          <th>definition</th>
        </tr>
      </thead>
      <tbody>
        {versions.map((v, i) => (
          <tr key={v.version}>
            <td>
              {v.version}
              {i === 0 && <Badge tone="good">latest</Badge>}
            </td>
            <td>{fmtTime(v.recordedAt)}</td>
            <td>#{v.buildId}</td>
            <td>
              <details>
                <summary>
                  <code>{v.hash}</code>
                </summary>
                <pre className="code small">
                  {Object.entries(v.definition)
                    .map(([k, x]) => `${k}: ${typeof x === 'string' ? x : JSON.stringify(x)}`)
                    .join('\n')}
                </pre>
              </details>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function LineageView(props: { l: Lineage }) {
  const { l } = props;
  const reads = l.edges.filter((e) => e.to === l.tag).map((e) => e.from);
  const readBy = l.edges.filter((e) => e.from === l.tag).map((e) => e.to);
  const option = useMemo<ChartOption>(() => {
    const byDepth = new Map<number, string[]>();
    for (const n of l.nodes) byDepth.set(n.depth, [...(byDepth.get(n.depth) ?? []), n.name]);
    const pos = new Map<string, [number, number]>();
    // Columns by depth; a slight slope per column keeps the layout's height above zero (ECharts cannot
    // scale a view whose nodes all lie on one line).
    for (const [depth, names] of byDepth)
      for (const [i, n] of names.entries())
        pos.set(n, [depth * 220, (i - (names.length - 1) / 2) * 56 + depth * 6]);
    return {
      tooltip: { formatter: (p: unknown) => (p as { data: { tip?: string } | null }).data?.tip ?? '' },
      series: [
        {
          type: 'graph',
          layout: 'none',
          roam: true,
          edgeSymbol: ['none', 'arrow'],
          edgeSymbolSize: 8,
          label: { show: true, position: 'bottom', fontSize: 11 },
          lineStyle: { color: '#adb5bd', width: 1.5, curveness: 0.08 },
          data: l.nodes.map((n) => ({
            name: n.name,
            x: pos.get(n.name)![0],
            y: pos.get(n.name)![1],
            symbolSize: n.depth === 0 ? 26 : 16,
            itemStyle: {
              color: categoryColor(n.category),
              borderColor: n.depth === 0 ? '#212529' : '#fff',
              borderWidth: 2,
            },
            tip: tooltipLines(n.name, n.title, `${n.kind} · ${n.type} · ${n.status}`),
          })),
          links: l.edges.map((e) => ({ source: e.from, target: e.to })),
        },
      ],
    };
  }, [l]);
  const list = (names: string[]) =>
    names.length === 0 ? (
      <span className="muted">nothing</span>
    ) : (
      names.map((n, i) => (
        <span key={n}>
          {i > 0 && ', '}
          <Link to={`/tags/${encodeURIComponent(n)}`}>
            <code>{n}</code>
          </Link>
        </span>
      ))
    );
  return (
    <>
      <p data-testid="reads">
        <strong>Reads:</strong> {list(reads)}
      </p>
      <p data-testid="read-by">
        <strong>Read by:</strong> {list(readBy)}
      </p>
      {l.nodes.length > 1 && (
        <Chart
          option={option}
          height={Math.min(
            420,
            120 +
              40 *
                Math.max(
                  ...[...new Set(l.nodes.map((n) => n.depth))].map(
                    (d) => l.nodes.filter((n) => n.depth === d).length,
                  ),
                ),
          )}
          label={`Dependency graph of ${l.tag}: ${l.nodes.length} tags`}
          testId="lineage-chart"
          onClick={(e) =>
            e.dataType === 'node' && e.name !== l.tag && navigate(`/tags/${encodeURIComponent(e.name)}`)
          }
        />
      )}
    </>
  );
}
