/**
 * The tag catalog: search by name, title or description; filter by category, owner, status, kind and
 * type (kept in the URL so a filtered view can be shared); each tag with its coverage.
 */
import { useMemo } from 'react';
import type { TagSummary } from '../../../src/client/index.js';
import { useApi } from '../api/use-api.js';
import { Link, setQueryParam, useLocation } from '../router.js';
import { CategoryBadge, Empty, ErrorNote, Loading, ShareBar, StatusBadge } from '../ui/components.js';
import { fmtNumber, fmtShare } from '../ui/format.js';

const FILTERS = ['category', 'owner', 'status', 'kind', 'type'] as const;
type Filter = (typeof FILTERS)[number];

export function TagsPage() {
  const tags = useApi((api) => api.tags(), []);
  const { query } = useLocation();
  const q = query.get('q') ?? '';
  const chosen = Object.fromEntries(FILTERS.map((f) => [f, query.get(f) ?? ''])) as Record<Filter, string>;

  const options = useMemo(() => {
    const out = {} as Record<Filter, string[]>;
    for (const f of FILTERS) out[f] = [...new Set((tags.data ?? []).map((t) => t[f]))].sort();
    return out;
  }, [tags.data]);

  const shown = useMemo(() => {
    const words = q.toLowerCase().split(/\s+/).filter(Boolean);
    return (tags.data ?? []).filter(
      (t) =>
        FILTERS.every((f) => chosen[f] === '' || t[f] === chosen[f]) &&
        words.every((w) => `${t.name} ${t.title} ${t.description}`.toLowerCase().includes(w)),
    );
  }, [tags.data, q, chosen]);

  return (
    <div className="page" data-testid="catalog" data-ready={tags.data ? 'true' : undefined}>
      <h1>Tags</h1>
      <div className="toolbar">
        <input
          type="search"
          className="search"
          aria-label="Search tags"
          placeholder="Search name, title or description"
          value={q}
          onChange={(e) => setQueryParam('q', e.target.value)}
        />
        {FILTERS.map((f) => (
          <select key={f} aria-label={f} value={chosen[f]} onChange={(e) => setQueryParam(f, e.target.value)}>
            <option value="">any {f}</option>
            {options[f].map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        ))}
      </div>
      {tags.error ? (
        <ErrorNote error={tags.error} onRetry={tags.reload} />
      ) : !tags.data ? (
        <Loading />
      ) : (
        <>
          <p className="muted" data-testid="tag-count">
            {shown.length} of {tags.data.length} tags
          </p>
          {shown.length === 0 ? (
            <Empty>No tag matches.</Empty>
          ) : (
            <table className="table" data-testid="tag-table">
              <thead>
                <tr>
                  <th>tag</th>
                  <th>category</th>
                  <th>kind · type</th>
                  <th>owner</th>
                  <th>status</th>
                  <th>coverage</th>
                  <th>summary</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((t) => (
                  <tr key={t.name}>
                    <td>
                      <Link to={`/tags/${encodeURIComponent(t.name)}`}>
                        <code>{t.name}</code>
                      </Link>
                      <div className="muted small">{t.title}</div>
                    </td>
                    <td>
                      <CategoryBadge category={t.category} />
                    </td>
                    <td className="small">
                      {t.kind} · {t.type}
                    </td>
                    <td className="small">{t.owner}</td>
                    <td>
                      <StatusBadge status={t.status} />
                    </td>
                    <td className="coverage-cell">
                      <ShareBar
                        share={t.coverage.nonNull}
                        label={`${fmtShare(t.coverage.nonNull)} have a value`}
                      />
                      <span className="small">{fmtShare(t.coverage.nonNull)}</span>
                    </td>
                    <td className="small">{summaryOf(t)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </div>
  );
}

function summaryOf(t: TagSummary): string {
  const c = t.coverage;
  if (c.trueShare !== undefined)
    return t.type === 'list' ? `${fmtShare(c.trueShare)} not empty` : `${fmtShare(c.trueShare)} true`;
  if (c.mean !== undefined) return `mean ${fmtNumber(c.mean)}`;
  if (c.top) return `most often ${c.top}${c.distinct !== undefined ? ` (${c.distinct} values)` : ''}`;
  return '';
}
