/**
 * Customer 360: find an entity by id; its tags grouped by category, with the evidence behind any value
 * on click; a timeline of its events; model scores with their per-entity explanations; and its
 * recommendations and offers when the server has those parts.
 */
import { type FormEvent, useMemo, useState } from 'react';
import type { Evidence, ProfileTag, TagSummary } from '../../../src/client/index.js';
import { useSession } from '../api/session.js';
import type { EntityEvents } from '../api/types.js';
import { useApi } from '../api/use-api.js';
import { Chart, type ChartOption, PALETTE } from '../charts/chart.js';
import { Link, navigate, setQueryParam, useLocation } from '../router.js';
import { Badge, CategoryBadge, Empty, ErrorNote, Loading, Panel } from '../ui/components.js';
import { fmtInt, fmtNumber, fmtTime, fmtValue, isList, tooltipLines } from '../ui/format.js';

const RECENT = 'tagverse.console.recent';

function recentIds(): string[] {
  try {
    return (JSON.parse(localStorage.getItem(RECENT) ?? '[]') as string[]).slice(0, 8);
  } catch {
    return [];
  }
}

function remember(id: string): void {
  localStorage.setItem(RECENT, JSON.stringify([id, ...recentIds().filter((x) => x !== id)].slice(0, 8)));
}

function FindForm(props: { initial?: string }) {
  const [id, setId] = useState(props.initial ?? '');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (id.trim()) navigate(`/customers/${encodeURIComponent(id.trim())}`);
  };
  return (
    <form className="toolbar" onSubmit={submit}>
      <input
        className="search"
        aria-label="Entity id"
        placeholder="Find by id, e.g. C0000042"
        value={id}
        onChange={(e) => setId(e.target.value)}
        spellCheck={false}
      />
      <button type="submit" className="button-primary">
        Find
      </button>
    </form>
  );
}

export function CustomerPage(props: { id?: string }) {
  if (props.id === undefined) return <CustomerSearch />;
  return <Customer id={props.id} />;
}

function CustomerSearch() {
  const examples = useApi((api) => api.tv.previewSegment('true', { sample: 8 }).catch(() => undefined), []);
  const recent = recentIds();
  return (
    <div className="page" data-testid="customer-search">
      <h1>Customers</h1>
      <FindForm />
      {recent.length > 0 && (
        <p>
          Recently opened:{' '}
          {recent.map((id, i) => (
            <span key={id}>
              {i > 0 && ', '}
              <Link to={`/customers/${encodeURIComponent(id)}`}>{id}</Link>
            </span>
          ))}
        </p>
      )}
      {examples.data && examples.data.sample.length > 0 && (
        <p className="muted">
          Some of the {fmtInt(examples.data.total)} served:{' '}
          {examples.data.sample.map((id, i) => (
            <span key={id}>
              {i > 0 && ', '}
              <Link to={`/customers/${encodeURIComponent(id)}`}>{id}</Link>
            </span>
          ))}
          . Segments list more (a tag page shows entities that have the tag).
        </p>
      )}
    </div>
  );
}

function Customer(props: { id: string }) {
  const { id } = props;
  const { query } = useLocation();
  const selected = query.get('tag') ?? undefined;
  const [showAll, setShowAll] = useState(false);
  const profile = useApi(
    async (api) => {
      const p = await api.tv.profile(id);
      remember(id);
      return p;
    },
    [id],
  );
  const catalog = useApi((api) => api.tags(), []);
  const events = useApi((api) => api.events(id, { limit: 2000 }), [id]);
  const evidence = useApi(
    (api) => (selected ? api.tv.explain(id, selected) : Promise.resolve(undefined)),
    [id, selected],
  );
  const meta = useMemo(() => new Map((catalog.data ?? []).map((t) => [t.name, t])), [catalog.data]);

  if (profile.error)
    return (
      <div className="page">
        <h1>{id}</h1>
        <FindForm initial={id} />
        <ErrorNote error={profile.error} />
      </div>
    );
  if (!profile.data)
    return (
      <div className="page">
        <h1>{id}</h1>
        <Loading />
      </div>
    );
  const p = profile.data;
  const models = Object.values(p.categories)
    .flat()
    .filter((t) => meta.get(t.name)?.kind === 'model');
  const select = (tag: string | undefined) => setQueryParam('tag', tag);

  return (
    <div className="page" data-testid="customer" data-ready={events.data ? 'true' : undefined}>
      <FindForm initial={id} />
      <h1>
        <code>{p.entityId}</code>
      </h1>
      <p className="muted">
        Tags as of {fmtTime(p.asOf)}
        {p.buildId !== undefined ? ` (build #${p.buildId})` : ''}. Click a value to see why.
      </p>
      <div className="columns customer-columns">
        <div className="grow">
          <Panel
            title="Tags"
            id="tags"
            actions={
              <label className="checkbox small">
                <input type="checkbox" checked={showAll} onChange={(e) => setShowAll(e.target.checked)} />
                also empty and false
              </label>
            }
          >
            <div className="tag-groups">
              {Object.entries(p.categories).map(([category, list]) => (
                <TagGroup
                  key={category}
                  category={category}
                  tags={list}
                  meta={meta}
                  showAll={showAll}
                  selected={selected}
                  onSelect={select}
                />
              ))}
            </div>
          </Panel>
        </div>
        <div className="evidence-column">
          <Panel
            title="Evidence"
            id="evidence"
            actions={
              selected && (
                <button type="button" className="button-quiet" onClick={() => select(undefined)}>
                  Close
                </button>
              )
            }
          >
            {!selected ? (
              <Empty>Click a tag value to see the numbers and events behind it.</Empty>
            ) : evidence.error ? (
              <ErrorNote error={evidence.error} />
            ) : !evidence.data ? (
              <Loading label="Explaining…" />
            ) : (
              <EvidenceView e={evidence.data} meta={meta} />
            )}
          </Panel>
        </div>
      </div>
      {models.length > 0 && (
        <Panel title="Model scores" id="models">
          <table className="table" data-testid="model-scores">
            <tbody>
              {models.map((t) => (
                <tr key={t.name}>
                  <td>
                    <Link to={`/tags/${encodeURIComponent(t.name)}`}>{t.title}</Link>
                  </td>
                  <td className="num">{fmtValue(t.value)}</td>
                  <td>
                    <button type="button" className="link-button" onClick={() => select(t.name)}>
                      explain
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Panel>
      )}
      <Panel title="Events" id="events">
        {events.error ? (
          <ErrorNote error={events.error} />
        ) : !events.data ? (
          <Loading />
        ) : (
          <Timeline ev={events.data} highlight={evidence.data && selected ? evidence.data : undefined} />
        )}
      </Panel>
      <Acting id={id} />
    </div>
  );
}

/**
 * Recommendations and offers, when the server has their routes and the project has something to
 * show: each trained recommender's items, and the offers it would rank now for the console channel.
 */
function Acting(props: { id: string }) {
  const { features, can } = useSession();
  const wanted = (features.recommendations && can('recs:read')) || (features.decide && can('offers:decide'));
  const actions = useApi((api) => (wanted ? api.actions() : Promise.resolve(undefined)), [wanted]);
  const a = actions.data;
  if (!a) return null;
  return (
    <>
      {features.recommendations &&
        can('recs:read') &&
        a.recommenders
          .filter((r) => r.trained)
          .map((r) => <Recommendations key={r.name} id={props.id} recommender={r.name} />)}
      {features.decide && can('offers:decide') && a.offers > 0 && <Offers id={props.id} />}
    </>
  );
}

function isEmpty(v: unknown): boolean {
  return v === null || v === false || (Array.isArray(v) && v.length === 0);
}

function TagGroup(props: {
  category: string;
  tags: readonly ProfileTag[];
  meta: ReadonlyMap<string, TagSummary>;
  showAll: boolean;
  selected: string | undefined;
  onSelect: (tag: string) => void;
}) {
  const shown = props.tags.filter((t) => props.showAll || !isEmpty(t.value) || t.name === props.selected);
  return (
    <section className="tag-group" data-testid={`group-${props.category}`}>
      <h3>
        <CategoryBadge category={props.category} />{' '}
        <span className="muted small">
          {shown.length} of {props.tags.length}
        </span>
      </h3>
      {shown.length === 0 ? (
        <Empty>No {props.category} tag holds for this entity.</Empty>
      ) : (
        <ul className="tag-values">
          {shown.map((t) => (
            <li key={t.name} className={t.name === props.selected ? 'selected' : undefined}>
              <button
                type="button"
                className="tag-value"
                onClick={() => props.onSelect(t.name)}
                aria-pressed={t.name === props.selected}
                data-tag={t.name}
                title={props.meta.get(t.name)?.description}
              >
                <span className="tag-title">{t.title}</span>
                <TagValue value={t.value} type={t.type} />
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function TagValue(props: { value: unknown; type: string }) {
  const v = props.value;
  if (typeof v === 'boolean') return <Badge tone={v ? 'good' : 'muted'}>{v ? 'yes' : 'no'}</Badge>;
  if (v === null) return <span className="muted">unknown</span>;
  if (isList(v))
    return (
      <span className="list-value">
        {v.map((x) => (
          <Badge key={x.value} title={`score ${fmtNumber(x.score)}`}>
            {x.value}
          </Badge>
        ))}
      </span>
    );
  return <span className="value">{fmtValue(v)}</span>;
}

function EvidenceView(props: { e: Evidence; meta: ReadonlyMap<string, TagSummary> }) {
  const { e } = props;
  return (
    <div className="evidence" data-testid="evidence">
      <h3>
        <Link to={`/tags/${encodeURIComponent(e.tag.name)}`}>{e.tag.title}</Link> ={' '}
        <strong>{fmtValue(e.value)}</strong>
      </h3>
      <p className="muted small">{e.tag.description}</p>
      <pre className="code reason" data-testid="evidence-reason">
        {e.reason}
      </pre>
      {e.aggregates.map((a) => (
        <div key={a.call} className="aggregate">
          <p>
            <code>{a.call}</code> = <strong>{fmtValue(a.value)}</strong>{' '}
            <span className="muted small">
              over {a.window.text} ({a.window.from ? `${fmtTime(a.window.from)} – ` : 'until '}
              {fmtTime(a.window.to)})
            </span>
          </p>
          {a.events.length > 0 && (
            <table className="table small" data-testid="evidence-events">
              <thead>
                <tr>
                  <th>event</th>
                  <th>time</th>
                  {a.events.some((x) => x.value !== null && x.value !== undefined) && (
                    <th className="num">value</th>
                  )}
                  {a.events.some((x) => x.label !== undefined) && <th>label</th>}
                </tr>
              </thead>
              <tbody>
                {a.events.map((x) => (
                  <tr key={x.eventId}>
                    <td>
                      <code>{x.eventId}</code>
                    </td>
                    <td>{fmtTime(x.ts)}</td>
                    {a.events.some((y) => y.value !== null && y.value !== undefined) && (
                      <td className="num">{fmtValue(x.value)}</td>
                    )}
                    {a.events.some((y) => y.label !== undefined) && <td>{fmtValue(x.label)}</td>}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      ))}
      {e.model && <Contributions x={e.model} />}
      {e.inputs.length > 0 && !e.model && (
        <>
          <h4>Inputs</h4>
          <ul className="inputs">
            {e.inputs.map((i) => (
              <li key={i.name}>
                {i.kind === 'tag' ? (
                  <Link to={`/tags/${encodeURIComponent(i.name)}`}>
                    <code>{i.name}</code>
                  </Link>
                ) : (
                  <code>{i.name}</code>
                )}{' '}
                = {fmtValue(i.value)} {i.kind === 'profile' && <span className="muted small">(profile)</span>}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

/** A model score's explanation: each feature's contribution to the margin, largest first. */
function Contributions(props: { x: NonNullable<Evidence['model']> }) {
  const { x } = props;
  const largest = Math.max(1e-12, ...x.contributions.map((c) => Math.abs(c.contribution)));
  const unit = x.objective === 'binary' ? 'log-odds' : 'value';
  return (
    <>
      <h4>Why this score</h4>
      <p className="muted small">
        {x.method === 'treeshap' ? 'TreeSHAP' : 'coefficient × standardised value'} contributions ({unit}) of
        model <code>{x.model}</code> v{x.version}: from the average row's {fmtNumber(x.expected)} to this{' '}
        entity's {fmtNumber(x.margin)}
        {x.score !== null ? `, score ${fmtNumber(x.score)}` : ''}
        {x.filtered ? ' (left out by the model’s filter)' : ''}.
      </p>
      <table className="table small" data-testid="model-contributions">
        <thead>
          <tr>
            <th>feature</th>
            <th className="num">value</th>
            <th className="num">contribution</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {x.contributions.slice(0, 15).map((c) => (
            <tr key={c.feature}>
              <td>
                <code>{c.feature}</code>
              </td>
              <td className="num">{fmtValue(c.value)}</td>
              <td className="num">{fmtNumber(c.contribution)}</td>
              <td>
                <span className={`contribution ${c.contribution < 0 ? 'down' : 'up'}`}>
                  <span style={{ width: `${(Math.abs(c.contribution) / largest) * 100}%` }} />
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {x.contributions.length > 15 && (
        <p className="muted small">and {x.contributions.length - 15} smaller contributions.</p>
      )}
    </>
  );
}

/** The column to plot events by (amount-like) and the one to colour them by (category-like). */
function pickColumns(ev: EntityEvents): { y?: string; color?: string; shown: string[] } {
  const numeric = ev.columns
    .filter((c) => /INT|DOUBLE|DECIMAL|FLOAT|REAL|NUMERIC/.test(c.type))
    .map((c) => c.name);
  const text = ev.columns.filter((c) => c.type === 'VARCHAR').map((c) => c.name);
  const y =
    numeric.find((n) => /amount|value|price|total|spend/i.test(n)) ??
    numeric.find((n) => !/lat|lon|_id$/i.test(n));
  const distinct = (n: string) => new Set(ev.events.map((e) => e[n])).size;
  const color =
    text.find((n) => /category|type|kind|department/i.test(n)) ??
    text
      .filter((n) => n !== ev.columns[0]?.name && !/_id$|^id$/i.test(n))
      .find((n) => distinct(n) > 1 && distinct(n) <= 12);
  // The table: time, names and descriptions first, then what the chart shows, then other text.
  const rest = ev.columns
    .map((c) => c.name)
    .filter((n) => n !== ev.timeColumn && !/_id$|^id$|^lat|^lon/i.test(n));
  const named = rest.filter((n) => /name|title|description|label/i.test(n));
  const shown = [
    ...new Set([
      ev.timeColumn,
      ...named,
      ...(color ? [color] : []),
      ...(y ? [y] : []),
      ...rest.filter((n) => text.includes(n)),
    ]),
  ].slice(0, 7);
  return { ...(y ? { y } : {}), ...(color ? { color } : {}), shown };
}

function Timeline(props: { ev: EntityEvents; highlight?: Evidence | undefined }) {
  const { ev } = props;
  const cols = useMemo(() => pickColumns(ev), [ev]);
  const idColumn = ev.columns[0]?.name;
  const highlighted = useMemo(
    () => new Set(props.highlight?.aggregates.flatMap((a) => a.events.map((x) => x.eventId)) ?? []),
    [props.highlight],
  );
  const option = useMemo<ChartOption>(() => {
    const groups = new Map<string, Record<string, unknown>[]>();
    for (const e of ev.events) {
      const g = cols.color ? String(e[cols.color] ?? '—') : ev.source;
      groups.set(g, [...(groups.get(g) ?? []), e]);
    }
    const names = [...groups.keys()].sort((a, b) => groups.get(b)!.length - groups.get(a)!.length);
    const point = (e: Record<string, unknown>): [string, number, string] => [
      String(e[ev.timeColumn]),
      cols.y ? Number(e[cols.y] ?? 0) : 1,
      idColumn ? String(e[idColumn]) : '',
    ];
    return {
      grid: { left: 64, right: 16, top: 40, bottom: 56 },
      legend: { top: 0, type: 'scroll' },
      tooltip: {
        trigger: 'item',
        formatter: (p: unknown) => {
          const { data: d, seriesName } = p as { data: unknown[] | null; seriesName: string };
          // An item without data must not throw: a CI run once caught "Cannot read properties of null
          // (reading '0')" on a customer page opened by a click (probably a tooltip asked for as the
          // chart rendered under the pointer). No tooltip then.
          if (!Array.isArray(d)) return '';
          return tooltipLines(
            fmtTime(String(d[0])),
            `${seriesName}${cols.y ? `: ${fmtNumber(Number(d[1]))}` : ''}`,
            String(d[2] ?? ''),
          );
        },
      },
      dataZoom: [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 8 }],
      xAxis: { type: 'time' },
      yAxis: cols.y ? { type: 'log', name: cols.y, logBase: 10 } : { type: 'value', show: false },
      series: [
        ...names.map((g, i) => ({
          type: 'scatter' as const,
          name: g,
          symbolSize: 6,
          itemStyle: { color: PALETTE[i % PALETTE.length]!, opacity: 0.75 },
          data: groups.get(g)!.map(point),
        })),
        ...(highlighted.size > 0
          ? [
              {
                type: 'scatter' as const,
                name: 'evidence',
                symbolSize: 13,
                itemStyle: { color: 'rgba(0,0,0,0)', borderColor: '#212529', borderWidth: 2 },
                data: ev.events.filter((e) => idColumn && highlighted.has(String(e[idColumn]))).map(point),
                z: 10,
              },
            ]
          : []),
      ],
    };
  }, [ev, cols, highlighted, idColumn]);

  if (ev.total === 0) return <Empty>No events in {ev.source}.</Empty>;
  return (
    <>
      <p className="muted small">
        {fmtInt(ev.events.length)} most recent of {fmtInt(ev.total)} events in <code>{ev.source}</code>
        {cols.y ? `, by ${cols.y}` : ''}
        {cols.color ? `, coloured by ${cols.color}` : ''}. Events behind the selected tag are circled.
      </p>
      <Chart option={option} height={300} label={`Timeline of ${ev.total} events`} testId="timeline-chart" />
      <table className="table small" data-testid="events-table">
        <thead>
          <tr>
            {cols.shown.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {ev.events.slice(0, 12).map((e, i) => (
            <tr key={idColumn ? String(e[idColumn]) : i}>
              {cols.shown.map((c) => (
                <td key={c} className={typeof e[c] === 'number' ? 'num' : undefined}>
                  {fmtValue(e[c])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Recommendations(props: { id: string; recommender: string }) {
  const recs = useApi(
    (api) => api.recommendations(props.id, props.recommender),
    [props.id, props.recommender],
  );
  const r = recs.data;
  return (
    <Panel title={`Recommendations: ${props.recommender}`} id={`recommendations-${props.recommender}`}>
      {recs.error ? (
        <ErrorNote error={recs.error} />
      ) : !r ? (
        <Loading />
      ) : (
        <>
          <p className="muted small">
            {r.algorithm} v{r.version}
            {r.coldStart ? ' · cold start (no history: popular items)' : ''}
            {r.eligible ? '' : ' · not eligible'}
          </p>
          <Items
            items={r.items.map((x) => ({ label: x.item, score: x.score, reasons: x.reasons }))}
            empty="No recommendation."
            testId="recommendations"
          />
        </>
      )}
    </Panel>
  );
}

/**
 * The offers an entity would get now in the console channel: a dry run (POST /v1/decide with
 * `dryRun`), so looking grants nothing and counts toward no cap or budget.
 */
function Offers(props: { id: string }) {
  const offers = useApi(
    (api) => api.decide({ entityId: props.id, context: { channel: 'console' }, dryRun: true }),
    [props.id],
  );
  const d = offers.data;
  return (
    <Panel title="Offers" id="offers">
      {offers.error ? (
        <ErrorNote error={offers.error} />
      ) : !d ? (
        <Loading />
      ) : (
        <>
          <p className="muted small">
            {fmtInt(d.eligible)} of {fmtInt(d.considered)} offers eligible at {d.localTime} (console channel;
            a preview: nothing is granted).
          </p>
          <Items
            items={d.offers.map((o) => ({
              label: o.title,
              score: o.score,
              reasons: o.reasons,
              ...(o.place ? { detail: `${o.place.city ?? o.place.id}, ${fmtNumber(o.place.km)} km` } : {}),
            }))}
            empty="No eligible offer."
            testId="offers"
          />
        </>
      )}
    </Panel>
  );
}

function Items(props: {
  items: readonly { label: string; score?: number; reasons: readonly string[]; detail?: string }[];
  empty: string;
  testId: string;
}) {
  const { items } = props;
  if (items.length === 0) return <Empty>{props.empty}</Empty>;
  return (
    <ol className="items" data-testid={props.testId}>
      {items.map((x, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: one response's list, in its order; labels may repeat
        <li key={i}>
          <strong>{x.label}</strong>
          {x.score !== undefined && <span className="muted"> · score {fmtNumber(x.score)}</span>}
          {x.detail && <div className="small">{x.detail}</div>}
          {x.reasons.length > 0 && <div className="muted small">{x.reasons.join(' · ')}</div>}
        </li>
      ))}
    </ol>
  );
}
