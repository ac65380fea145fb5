/** Small building blocks every page uses: panels, figures, badges, loading and error notes. */
import type { ReactNode } from 'react';
import { errorMessage } from '../api/console-api.js';

export function Panel(props: {
  title?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  id?: string;
}) {
  return (
    <section
      className={`panel ${props.className ?? ''}`}
      aria-labelledby={props.id ? `${props.id}-title` : undefined}
    >
      {(props.title || props.actions) && (
        <header className="panel-head">
          {props.title && <h2 id={props.id ? `${props.id}-title` : undefined}>{props.title}</h2>}
          {props.actions && <div className="panel-actions">{props.actions}</div>}
        </header>
      )}
      {props.children}
    </section>
  );
}

export function Stat(props: { label: string; value: ReactNode; hint?: ReactNode; testId?: string }) {
  return (
    <div className="stat">
      <div className="stat-label">{props.label}</div>
      <div className="stat-value" data-testid={props.testId}>
        {props.value}
      </div>
      {props.hint && <div className="stat-hint">{props.hint}</div>}
    </div>
  );
}

export function Badge(props: { children: ReactNode; tone?: string; title?: string }) {
  return (
    <span className={`badge ${props.tone ? `badge-${props.tone}` : ''}`} title={props.title}>
      {props.children}
    </span>
  );
}

const STATUS_TONE: Record<string, string> = { approved: 'good', draft: 'muted', deprecated: 'bad' };

export function StatusBadge(props: { status: string }) {
  return <Badge tone={STATUS_TONE[props.status] ?? 'muted'}>{props.status}</Badge>;
}

export function CategoryBadge(props: { category: string }) {
  return <Badge tone={`cat-${props.category}`}>{props.category}</Badge>;
}

export function Loading(props: { label?: string }) {
  return (
    <div className="loading" aria-busy="true">
      {props.label ?? 'Loading…'}
    </div>
  );
}

export function ErrorNote(props: { error: unknown; onRetry?: () => void }) {
  return (
    <div className="error-note" role="alert">
      {errorMessage(props.error)}
      {props.onRetry && (
        <button type="button" className="link-button" onClick={props.onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty(props: { children: ReactNode }) {
  return <p className="empty">{props.children}</p>;
}

/** A bar of a share between 0 and 1, for tables. */
export function ShareBar(props: { share: number | undefined; label?: string }) {
  const share = props.share ?? 0;
  return (
    <span className="share-bar" title={props.label}>
      <span className="share-fill" style={{ width: `${Math.max(0, Math.min(1, share)) * 100}%` }} />
    </span>
  );
}
