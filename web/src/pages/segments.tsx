/**
 * The segment builder: write an expression (autocomplete of tag names, attributes and values) or
 * compose it by clicking tags; the count updates as you type (every count is the server's); overlap
 * with saved segments; save (editors and admins only); export saved segments as CSV or JSONL.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Overlap, SegmentPreview, SegmentWithCount } from '../../../src/client/index.js';
import { FUNCTIONS } from '../../../src/lang/functions.js';
import { errorMessage, TagverseApiError } from '../api/console-api.js';
import { useSession } from '../api/session.js';
import { useApi } from '../api/use-api.js';
import { checkLocally, knownNames, type LocalProblem } from '../lang/check.js';
import type { NameInfo, Vocabulary } from '../lang/complete.js';
import { ExpressionEditor } from '../lang/expression-editor.js';
import { Link, useLocation } from '../router.js';
import { CategoryBadge, Empty, ErrorNote, Loading, Panel } from '../ui/components.js';
import { fmtInt, fmtNumber, fmtShare } from '../ui/format.js';

const FUNCTION_LIST = [
  ...FUNCTIONS.map((f) => ({ name: f.name, doc: f.doc })),
  { name: 'if', doc: 'if(condition, then, else)' },
  { name: 'ratio', doc: 'a / b, null when b is 0' },
];

type Count =
  | { kind: 'idle' }
  | { kind: 'counting'; expression: string }
  | { kind: 'counted'; preview: SegmentPreview }
  | { kind: 'refused'; expression: string; problem: LocalProblem; fromServer: boolean };

export function SegmentsPage() {
  const { api, can, me } = useSession();
  const { query } = useLocation();
  const [expr, setExpr] = useState(query.get('expr') ?? '');
  const [count, setCount] = useState<Count>({ kind: 'idle' });
  const [values, setValues] = useState<ReadonlyMap<string, readonly string[]>>(new Map());
  const [saved, setSaved] = useState<{ list?: SegmentWithCount[]; problems?: string[]; error?: unknown }>({});
  const tags = useApi((a) => a.tags(), []);
  const attributes = useApi((a) => a.attributes(), []);
  const canWrite = can('segments:write');

  const names = useMemo(
    () =>
      knownNames(
        (tags.data ?? []).map((t) => t.name),
        attributes.data?.attributes ?? [],
      ),
    [tags.data, attributes.data],
  );
  const vocabulary = useMemo<Vocabulary>(() => {
    const list: NameInfo[] = [
      ...(tags.data ?? []).map((t) => ({
        name: t.name,
        kind: 'tag' as const,
        type: t.type,
        title: t.title,
        category: t.category,
      })),
      ...(attributes.data?.attributes ?? []).map((a) => ({
        name: a.name,
        kind: 'attribute' as const,
        type: a.type,
      })),
    ];
    const attrValues = new Map(
      (attributes.data?.attributes ?? []).map((a) => [a.name, a.values?.map((v) => v.value)]),
    );
    return {
      names: list,
      functions: FUNCTION_LIST,
      valuesOf: (name) =>
        values.get(name) ??
        attrValues.get(name) ??
        (list.some((n) => n.name === name && n.kind === 'tag' && (n.type === 'category' || n.type === 'list'))
          ? undefined
          : []),
    };
  }, [tags.data, attributes.data, values]);

  // Values of category and list tags come from their distributions, fetched when first needed.
  const asked = useRef(new Set<string>());
  const needValues = useCallback(
    (name: string) => {
      if (asked.current.has(name)) return;
      asked.current.add(name);
      api.tv
        .tag(name)
        .then((d) => (d.distribution.kind === 'top_values' ? d.distribution.values.map((v) => v.value) : []))
        .catch(() => [])
        .then((v) => setValues((m) => new Map(m).set(name, v)));
    },
    [api],
  );

  // The live count: checked here first (syntax, names), then counted by the server; latest wins.
  const latest = useRef(0);
  const ready = tags.data !== undefined && attributes.data !== undefined;
  useEffect(() => {
    const text = expr;
    const call = ++latest.current;
    if (!ready) return;
    if (text.trim() === '') {
      setCount({ kind: 'idle' });
      return;
    }
    const local = checkLocally(text, names);
    if (local) {
      setCount({ kind: 'refused', expression: text, problem: local, fromServer: false });
      return;
    }
    setCount((c) => (c.kind === 'counted' ? c : { kind: 'counting', expression: text }));
    const timer = setTimeout(() => {
      api.tv.previewSegment(text, { sample: 10 }).then(
        (preview) => call === latest.current && setCount({ kind: 'counted', preview }),
        (e: unknown) => {
          if (call !== latest.current) return;
          const p = e instanceof TagverseApiError ? e.problems?.[0] : undefined;
          setCount({
            kind: 'refused',
            expression: text,
            problem: p
              ? { start: p.start, end: p.end, message: p.message }
              : { start: 0, end: text.length, message: errorMessage(e) },
            fromServer: true,
          });
        },
      );
    }, 120);
    return () => clearTimeout(timer);
  }, [expr, names, ready, api]);

  const loadSaved = useCallback(async () => {
    try {
      const r = await api.tv.listSegments();
      const list = await Promise.all(r.segments.map((s) => api.tv.segment(s.name)));
      setSaved({ list, problems: r.problems });
    } catch (e) {
      setSaved({ error: e });
    }
  }, [api]);
  useEffect(() => {
    loadSaved();
  }, [loadSaved]);

  const insert = (name: string) => {
    const t = expr.trimEnd();
    setExpr(t === '' ? name : /(\(|\band|\bor|\bnot)$/i.test(t) ? `${t} ${name}` : `${t} and ${name}`);
  };

  const problem = count.kind === 'refused' && count.expression === expr ? count.problem : undefined;
  const preview = count.kind === 'counted' ? count.preview : undefined;
  const stale = preview !== undefined && preview.expression !== expr;

  return (
    <div className="page" data-testid="segments">
      <h1>Segments</h1>
      <div className="columns">
        <div className="grow">
          <Panel title="Expression" id="expression">
            <ExpressionEditor
              value={expr}
              onChange={setExpr}
              vocabulary={vocabulary}
              problem={problem}
              onNeedValues={needValues}
              label="Segment expression"
            />
            <p className="muted small">
              Tags and profile attributes with <code>and</code>, <code>or</code>, <code>not</code>,
              comparisons, <code>in (…)</code>, <code>has(list, 'value')</code>; unknown (null) is never a
              member. Ctrl+Space suggests.
            </p>
            {problem && (
              <p className="error-note" role="alert" data-testid="expression-problem">
                {problem.message}
              </p>
            )}
            <div
              className={`count ${stale || count.kind === 'counting' ? 'count-stale' : ''}`}
              aria-live="polite"
            >
              {preview ? (
                <>
                  <span
                    className="count-number"
                    data-testid="segment-count"
                    data-expression={preview.expression}
                  >
                    {fmtInt(preview.count)}
                  </span>{' '}
                  of {fmtInt(preview.total)} ({fmtShare(preview.share)})
                  <span className="muted small">
                    {' '}
                    · counted in {fmtNumber(preview.elapsedMs)} ms on build #{preview.buildId}
                  </span>
                  {preview.sample.length > 0 && (
                    <div className="small">
                      For example:{' '}
                      {preview.sample.map((id, i) => (
                        <span key={id}>
                          {i > 0 && ', '}
                          <Link to={`/customers/${encodeURIComponent(id)}`}>{id}</Link>
                        </span>
                      ))}
                    </div>
                  )}
                </>
              ) : count.kind === 'counting' ? (
                <span className="muted">Counting…</span>
              ) : (
                <span className="muted">Type an expression to count its members.</span>
              )}
            </div>
          </Panel>
          {canWrite ? (
            <SaveForm
              expression={expr}
              disabled={!preview || stale || problem !== undefined}
              onSaved={loadSaved}
            />
          ) : (
            <p className="muted small" data-testid="read-only-note">
              Your key’s role ({me.role}) can count, compare and export segments; saving and deleting need an
              editor or admin key.
            </p>
          )}
          <SavedSegments
            state={saved}
            canWrite={canWrite}
            onUse={(e) => setExpr(e)}
            onChanged={loadSaved}
            current={preview && !stale && !problem ? expr : undefined}
          />
        </div>
        <aside className="side">
          <TagPicker tags={tags.data} error={tags.error} onPick={insert} />
        </aside>
      </div>
    </div>
  );
}

function TagPicker(props: {
  tags: import('../../../src/client/index.js').TagSummary[] | undefined;
  error: unknown;
  onPick: (name: string) => void;
}) {
  const [q, setQ] = useState('');
  const shown = useMemo(() => {
    const w = q.toLowerCase();
    return (props.tags ?? [])
      .filter((t) => !w || t.name.includes(w) || t.title.toLowerCase().includes(w))
      .slice(0, 60);
  }, [props.tags, q]);
  return (
    <Panel title="Tags" id="picker">
      <input
        type="search"
        className="search"
        aria-label="Filter tags"
        placeholder="Filter"
        value={q}
        onChange={(e) => setQ(e.target.value)}
      />
      {props.error ? (
        <ErrorNote error={props.error} />
      ) : !props.tags ? (
        <Loading />
      ) : (
        <ul className="picker">
          {shown.map((t) => (
            <li key={t.name}>
              <button
                type="button"
                className="link-button"
                onClick={() => props.onPick(t.name)}
                title={`${t.title}: ${t.description}`}
              >
                <code>{t.name}</code>
              </button>{' '}
              <CategoryBadge category={t.category} /> <span className="muted small">{t.type}</span>
            </li>
          ))}
        </ul>
      )}
      <p className="muted small">Click a tag to add it with “and”.</p>
    </Panel>
  );
}

function SaveForm(props: { expression: string; disabled: boolean; onSaved: () => void }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [owner, setOwner] = useState('');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>();
  const save = async () => {
    setMessage(undefined);
    try {
      const s = await api.tv.saveSegment({
        name: name.trim(),
        expression: props.expression,
        ...(description.trim() ? { description: description.trim() } : {}),
        ...(owner.trim() ? { owner: owner.trim() } : {}),
      });
      setMessage({ ok: true, text: `Saved as ${s.name} (${s.file}).` });
      props.onSaved();
    } catch (e) {
      setMessage({ ok: false, text: errorMessage(e) });
    }
  };
  return (
    <Panel title="Save" id="save">
      <form
        className="form-row"
        data-testid="save-form"
        onSubmit={(e) => {
          e.preventDefault();
          save();
        }}
      >
        <input
          aria-label="Segment name"
          placeholder="name, e.g. seoul_golfers"
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <input
          aria-label="Description"
          placeholder="description"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          className="grow"
        />
        <input
          aria-label="Owner"
          placeholder="owner"
          value={owner}
          onChange={(e) => setOwner(e.target.value)}
        />
        <button type="submit" className="button-primary" disabled={props.disabled || name.trim() === ''}>
          Save segment
        </button>
      </form>
      {message && (
        <p className={message.ok ? 'ok-note' : 'error-note'} role="status">
          {message.text}
        </p>
      )}
    </Panel>
  );
}

async function download(
  api: import('../api/console-api.js').ConsoleApi,
  name: string,
  format: 'csv' | 'jsonl',
): Promise<void> {
  const parts: string[] = [];
  for await (const chunk of api.tv.exportMembers(name, format)) parts.push(chunk);
  const url = URL.createObjectURL(
    new Blob(parts, { type: format === 'csv' ? 'text/csv' : 'application/x-ndjson' }),
  );
  const a = document.createElement('a');
  a.href = url;
  a.download = `${name}.${format}`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function SavedSegments(props: {
  state: { list?: SegmentWithCount[]; problems?: string[]; error?: unknown };
  canWrite: boolean;
  current: string | undefined;
  onUse: (expression: string) => void;
  onChanged: () => void;
}) {
  const { api } = useSession();
  const [picked, setPicked] = useState<ReadonlySet<string>>(new Set());
  const [withCurrent, setWithCurrent] = useState(true);
  const [overlap, setOverlap] = useState<{ result?: Overlap; error?: unknown; busy?: boolean }>({});
  const [error, setError] = useState<string | undefined>();
  const { list, problems } = props.state;

  const toggle = (name: string) =>
    setPicked((s) => {
      const n = new Set(s);
      if (n.has(name)) n.delete(name);
      else n.add(name);
      return n;
    });
  const inputs = [...picked].length + (withCurrent && props.current ? 1 : 0);
  const compare = async () => {
    setOverlap({ busy: true });
    try {
      const result = await api.tv.overlap({
        segments: [...picked],
        ...(withCurrent && props.current
          ? { expressions: [{ name: 'current expression', expression: props.current }] }
          : {}),
      });
      setOverlap({ result });
    } catch (e) {
      setOverlap({ error: e });
    }
  };
  const remove = async (name: string) => {
    if (!window.confirm(`Delete the segment ${name}?`)) return;
    try {
      await api.tv.deleteSegment(name);
      props.onChanged();
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  return (
    <Panel title="Saved segments" id="saved">
      {props.state.error ? (
        <ErrorNote error={props.state.error} />
      ) : !list ? (
        <Loading />
      ) : list.length === 0 ? (
        <Empty>No saved segment yet.</Empty>
      ) : (
        <table className="table" data-testid="saved-segments">
          <thead>
            <tr>
              <th>
                <span className="sr-only">compare</span>
              </th>
              <th>segment</th>
              <th className="num">members</th>
              <th>export</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((s) => (
              <tr key={s.name}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Compare ${s.name}`}
                    checked={picked.has(s.name)}
                    onChange={() => toggle(s.name)}
                  />
                </td>
                <td>
                  <strong>{s.name}</strong>
                  {s.description && <div className="small">{s.description}</div>}
                  <div>
                    <button
                      type="button"
                      className="link-button code small"
                      onClick={() => props.onUse(s.expression)}
                      title="Edit this expression"
                    >
                      {s.expression}
                    </button>
                  </div>
                </td>
                <td className="num">{fmtInt(s.count)}</td>
                <td className="nowrap">
                  <button
                    type="button"
                    className="button-quiet"
                    onClick={() => download(api, s.name, 'csv').catch((e) => setError(errorMessage(e)))}
                  >
                    CSV
                  </button>{' '}
                  <button
                    type="button"
                    className="button-quiet"
                    onClick={() => download(api, s.name, 'jsonl').catch((e) => setError(errorMessage(e)))}
                  >
                    JSONL
                  </button>
                </td>
                <td>
                  {props.canWrite && (
                    <button
                      type="button"
                      className="button-danger"
                      onClick={() => remove(s.name)}
                      aria-label={`Delete ${s.name}`}
                    >
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {problems && problems.length > 0 && <p className="muted small">{problems.join('; ')}</p>}
      {error && <p className="error-note">{error}</p>}
      {list && list.length > 0 && (
        <div className="overlap">
          <label className="checkbox small">
            <input
              type="checkbox"
              checked={withCurrent}
              onChange={(e) => setWithCurrent(e.target.checked)}
              disabled={!props.current}
            />
            include the current expression
          </label>{' '}
          <button
            type="button"
            className="button-quiet"
            onClick={compare}
            disabled={inputs < 2 || overlap.busy}
          >
            Compare overlap
          </button>
          {inputs < 2 && <span className="muted small"> (pick at least two)</span>}
          {overlap.error ? (
            <ErrorNote error={overlap.error} />
          ) : (
            overlap.result && <OverlapTable o={overlap.result} />
          )}
        </div>
      )}
    </Panel>
  );
}

function OverlapTable(props: { o: Overlap }) {
  const { o } = props;
  const max = Math.max(1, ...o.matrix.flat());
  return (
    <>
      <table className="table overlap-table" data-testid="overlap">
        <thead>
          <tr>
            <th />
            {o.segments.map((s) => (
              <th key={s.name} className="num">
                {s.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {o.segments.map((s, i) => (
            <tr key={s.name}>
              <th>{s.name}</th>
              {o.matrix[i]!.map((n, j) => (
                <td
                  key={o.segments[j]!.name}
                  className="num"
                  style={{ background: `rgba(59, 91, 219, ${(0.5 * n) / max})` }}
                >
                  {fmtInt(n)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <p className="small">
        In all: <strong>{fmtInt(o.all)}</strong> · in any: <strong>{fmtInt(o.any)}</strong>
      </p>
    </>
  );
}
