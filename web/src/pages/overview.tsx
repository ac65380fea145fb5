/**
 * Overview: what is served (build, entities, tags), each source's rows, rejects and freshness, the
 * latest loads and builds, tag coverage at a glance, and the ingestion rate when real-time is on.
 */
import { useEffect, useMemo, useState } from 'react';
import type { TagSummary } from '../../../src/client/index.js';
import { useSession } from '../api/session.js';
import { useApi } from '../api/use-api.js';
import { Chart, type ChartOption, categoryColor } from '../charts/chart.js';
import { navigate } from '../router.js';
import { Badge, Empty, ErrorNote, Loading, Panel, Stat } from '../ui/components.js';
import { fmtAgo, fmtDuration, fmtInt, fmtShare, fmtTime, tooltipLines } from '../ui/format.js';

export function OverviewPage() {
  const { features } = useSession();
  const store = useApi((api) => api.store(), []);
  const sources = useApi((api) => api.sources(), []);
  const builds = useApi((api) => api.builds(10), []);
  const tags = useApi((api) => api.tags(), []);
  const s = store.data;
  const ready = !!(store.data && sources.data && builds.data && tags.data);

  return (
    <div className="page" data-testid="overview" data-ready={ready ? 'true' : undefined}>
      <h1>Overview</h1>
      {store.error ? <ErrorNote error={store.error} onRetry={store.reload} /> : null}
      <div className="stats">
        <Stat
          label={s ? `${s.entityName}s` : 'entities'}
          value={s ? fmtInt(s.entities) : '…'}
          testId="stat-entities"
        />
        <Stat label="tags" value={s ? fmtInt(s.tags) : '…'} testId="stat-tags" />
        <Stat
          label="build"
          value={s ? `#${s.buildId}` : '…'}
          hint={s ? `as of ${fmtTime(s.asOf)}` : undefined}
        />
        <Stat
          label="loaded"
          value={s ? fmtAgo(s.loadedAt) : '…'}
          hint={
            s
              ? `from the ${s.loadedFrom} in ${fmtDuration(s.loadMs)}${s.reloads ? `, ${s.reloads} reloads` : ''}`
              : undefined
          }
        />
      </div>
      {s?.lastReloadError && <ErrorNote error={new Error(`The last reload failed: ${s.lastReloadError}`)} />}
      {features.realtime && <IngestionRate />}
      <Panel title="Sources" id="sources">
        {sources.error ? (
          <ErrorNote error={sources.error} onRetry={sources.reload} />
        ) : !sources.data ? (
          <Loading />
        ) : (
          <SourcesTable data={sources.data} />
        )}
      </Panel>
      <div className="columns">
        <Panel title="Tag coverage" id="coverage" className="grow">
          {tags.error ? (
            <ErrorNote error={tags.error} />
          ) : !tags.data ? (
            <Loading />
          ) : (
            <CoverageChart tags={tags.data} />
          )}
        </Panel>
        <Panel title="Latest builds" id="builds">
          {builds.error ? (
            <ErrorNote error={builds.error} onRetry={builds.reload} />
          ) : !builds.data ? (
            <Loading />
          ) : builds.data.builds.length === 0 ? (
            <Empty>No build yet: run tagverse build.</Empty>
          ) : (
            <table className="table" data-testid="builds">
              <thead>
                <tr>
                  <th>build</th>
                  <th>as of</th>
                  <th>finished</th>
                  <th className="num">took</th>
                  <th className="num">tags</th>
                  <th className="num">entities</th>
                </tr>
              </thead>
              <tbody>
                {builds.data.builds.map((b) => (
                  <tr key={b.buildId}>
                    <td>#{b.buildId}</td>
                    <td>{fmtTime(b.asOf)}</td>
                    <td title={fmtTime(b.finishedAt)}>{fmtAgo(b.finishedAt)}</td>
                    <td className="num">{fmtDuration(b.durationMs)}</td>
                    <td className="num">{fmtInt(b.tags)}</td>
                    <td className="num">{fmtInt(b.entities)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Panel>
      </div>
      {sources.data && sources.data.loads.length > 0 && (
        <Panel title="Latest loads" id="loads">
          <table className="table">
            <thead>
              <tr>
                <th>load</th>
                <th>finished</th>
                <th>sources</th>
                <th className="num">files</th>
                <th className="num">rows</th>
                <th className="num">rejected</th>
              </tr>
            </thead>
            <tbody>
              {sources.data.loads.map((l) => (
                <tr key={l.loadId}>
                  <td>#{l.loadId}</td>
                  <td title={fmtTime(l.finishedAt)}>{fmtAgo(l.finishedAt)}</td>
                  <td>{l.sources.join(', ')}</td>
                  <td className="num">{fmtInt(l.filesLoaded)}</td>
                  <td className="num">{fmtInt(l.rowsLoaded)}</td>
                  <td className="num">{fmtInt(l.rowsRejected)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Panel>
      )}
    </div>
  );
}

function SourcesTable(props: { data: import('../api/types.js').Sources }) {
  return (
    <table className="table" data-testid="sources">
      <thead>
        <tr>
          <th>source</th>
          <th>kind</th>
          <th className="num">rows</th>
          <th className="num">rejected</th>
          <th className="num">files</th>
          <th>last loaded</th>
          <th>newest event</th>
        </tr>
      </thead>
      <tbody>
        {props.data.sources.map((s) => (
          <tr key={s.name}>
            <td>
              <strong>{s.name}</strong>
              {s.description && <div className="muted small">{s.description}</div>}
            </td>
            <td>
              <Badge>{s.kind}</Badge>
            </td>
            <td className="num">{fmtInt(s.rows)}</td>
            <td
              className="num"
              title={s.rejectsByKind.map((r) => `${r.kind}: ${fmtInt(r.count)}`).join('\n') || undefined}
            >
              {s.rejected > 0 ? (
                <span className="warn">
                  {fmtInt(s.rejected)} ({fmtShare(s.rejected / Math.max(1, s.rows + s.rejected))})
                </span>
              ) : (
                '0'
              )}
              {s.rejectsByKind.length > 0 && (
                <div className="muted small">
                  {s.rejectsByKind.map((r) => `${r.kind.replace(/_/g, ' ')} ${fmtInt(r.count)}`).join(', ')}
                </div>
              )}
            </td>
            <td className="num">{fmtInt(s.files)}</td>
            <td title={fmtTime(s.lastLoadedAt)}>{fmtAgo(s.lastLoadedAt)}</td>
            <td>
              {s.kind === 'events' ? (
                <>
                  {fmtTime(s.lastEventAt)}
                  <div className="muted small">
                    {s.lastEventAt ? fmtAgo(s.lastEventAt) : ''}
                    {s.firstEventAt ? ` · since ${fmtTime(s.firstEventAt).slice(0, 10)}` : ''}
                  </div>
                </>
              ) : (
                <span className="muted">—</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Every tag's share of entities with a value (booleans and lists: where true / not empty). */
function CoverageChart(props: { tags: readonly TagSummary[] }) {
  const [mode, setMode] = useState<'value' | 'true'>('true');
  const rows = useMemo(() => {
    const order = ['behavior', 'preference', 'condition'];
    const catIndex = (c: string) => (order.includes(c) ? order.indexOf(c) : order.length);
    return [...props.tags]
      .map((t) => ({
        t,
        y: mode === 'true' ? (t.coverage.trueShare ?? t.coverage.nonNull) : t.coverage.nonNull,
      }))
      .sort((a, b) => catIndex(a.t.category) - catIndex(b.t.category) || b.y - a.y);
  }, [props.tags, mode]);
  const categories = useMemo(() => [...new Set(rows.map((r) => r.t.category))], [rows]);
  const option = useMemo<ChartOption>(
    () => ({
      grid: { left: 48, right: 12, top: 30, bottom: 28 },
      legend: { top: 0, data: categories, selectedMode: false },
      tooltip: {
        trigger: 'item',
        formatter: (p: unknown) => {
          const i = (p as { dataIndex: number }).dataIndex;
          const r = rows[i];
          return r
            ? tooltipLines(
                r.t.name,
                r.t.title,
                `${mode === 'true' ? 'true or present' : 'has a value'}: ${fmtShare(r.y)}`,
              )
            : '';
        },
      },
      xAxis: {
        type: 'category',
        data: rows.map((r) => r.t.name),
        axisLabel: { show: false },
        axisTick: { show: false },
      },
      yAxis: { type: 'value', max: 1, axisLabel: { formatter: (v: number) => `${Math.round(v * 100)}%` } },
      series: categories.map((c) => ({
        name: c,
        type: 'bar' as const,
        stack: 'one',
        barCategoryGap: '15%',
        itemStyle: { color: categoryColor(c) },
        data: rows.map((r) => (r.t.category === c ? r.y : null)),
      })),
    }),
    [rows, mode, categories],
  );
  return (
    <>
      <fieldset className="segmented" aria-label="Coverage measure">
        <button type="button" aria-pressed={mode === 'true'} onClick={() => setMode('true')}>
          true / present
        </button>
        <button type="button" aria-pressed={mode === 'value'} onClick={() => setMode('value')}>
          has a value
        </button>
      </fieldset>
      <Chart
        option={option}
        height={240}
        label={`Coverage of ${rows.length} tags, by category`}
        testId="coverage-chart"
        onClick={(e) => e.name && navigate(`/tags/${encodeURIComponent(e.name)}`)}
      />
      <p className="muted small">
        {categories
          .map((c) => {
            const list = props.tags.filter((t) => t.category === c);
            return `${c}: ${list.length} tags`;
          })
          .join(' · ')}
        . Click a bar to open the tag.
      </p>
    </>
  );
}

/**
 * Events accepted per second, from two readings of the real-time status route (`accepted`, also
 * duplicates, rejected, entities waiting and rows waiting for the warehouse) 5 s apart. The route is
 * for admin keys (store:admin); other keys are told so rather than shown a number from nowhere.
 */
function IngestionRate() {
  const { api, features, can } = useSession();
  const allowed = features.realtimeStatus && can('store:admin');
  const [rate, setRate] = useState<{ perSecond?: number; total?: number; extra?: [string, number][] }>({});
  useEffect(() => {
    if (!allowed) return;
    let last: { at: number; total: number } | undefined;
    let stopped = false;
    const read = async () => {
      const s = await api
        .request<Record<string, unknown>>('GET', '/v1/realtime/status')
        .catch(() => undefined);
      const n = (k: string) => (typeof s?.[k] === 'number' ? (s[k] as number) : undefined);
      const total = n('accepted');
      if (stopped || total === undefined) return;
      const extra = (['duplicates', 'rejected', 'dirtyEntities', 'pendingFlush'] as const)
        .map((k): [string, number | undefined] => [k, n(k)])
        .filter((x): x is [string, number] => x[1] !== undefined);
      const at = performance.now();
      const perSecond = last ? ((total - last.total) * 1000) / (at - last.at) : undefined;
      setRate({ total, extra, ...(perSecond !== undefined ? { perSecond } : {}) });
      last = { at, total };
    };
    read();
    const timer = setInterval(read, 5000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api, allowed]);
  return (
    <Panel title="Real-time ingestion" id="ingestion">
      {!allowed ? (
        <Empty>Real-time ingestion is on; its rate is shown to admin keys.</Empty>
      ) : (
        <div className="stats">
          <Stat
            label="events / s"
            value={rate.perSecond === undefined ? '…' : fmtInt(rate.perSecond)}
            hint="over the last 5 s"
            testId="ingest-rate"
          />
          <Stat
            label="events accepted"
            value={rate.total === undefined ? '—' : fmtInt(rate.total)}
            testId="ingest-accepted"
          />
          {rate.extra?.map(([k, v]) => (
            <Stat key={k} label={k.replace(/([A-Z])/g, ' $1').toLowerCase()} value={fmtInt(v)} />
          ))}
        </div>
      )}
    </Panel>
  );
}
