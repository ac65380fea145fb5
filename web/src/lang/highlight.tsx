/**
 * Tag-language text with its tokens coloured (keywords, names, strings, numbers, durations), tag names
 * optionally linked to their pages, and an optional problem span underlined.
 */
import { Fragment, type ReactNode } from 'react';
import { Link } from '../router.js';
import { pieces } from './tokens.js';

export function Highlighted(props: {
  text: string;
  /** Names that link to a tag page. */
  tags?: ReadonlySet<string>;
  problem?: { start: number; end: number } | undefined;
}): ReactNode {
  const { text, tags, problem } = props;
  const out: ReactNode[] = [];
  for (const p of pieces(text)) {
    const cls = `tok-${p.kind}`;
    // Split a piece around the problem span so exactly that text is underlined.
    const cuts = [p.start, p.end];
    if (problem) for (const c of [problem.start, problem.end]) if (c > p.start && c < p.end) cuts.push(c);
    cuts.sort((a, b) => a - b);
    for (let i = 0; i + 1 < cuts.length; i++) {
      const [s, e] = [cuts[i]!, cuts[i + 1]!];
      const part = text.slice(s, e);
      const bad = problem !== undefined && s < Math.max(problem.end, problem.start + 1) && e > problem.start;
      const content =
        p.kind === 'ident' && tags?.has(part) ? (
          <Link to={`/tags/${encodeURIComponent(part)}`}>{part}</Link>
        ) : (
          part
        );
      out.push(
        <span key={`${s}`} className={`${cls}${bad ? ' tok-problem' : ''}`}>
          {content}
        </span>,
      );
    }
  }
  // A problem at the very end (a missing operand): mark the end.
  if (problem && problem.start >= text.length)
    out.push(
      <span key="end" className="tok-problem tok-end">
        {' '}
      </span>,
    );
  return <Fragment>{out}</Fragment>;
}
