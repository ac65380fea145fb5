/**
 * A text box for tag-language expressions: the text is highlighted as it is typed (a coloured copy
 * sits under a transparent textarea), a problem span is underlined, and suggestions from complete.ts
 * open under it (arrows to move, Enter or Tab to take one, Escape to close).
 */
import { type KeyboardEvent, useEffect, useId, useMemo, useRef, useState } from 'react';
import { type Completion, complete, type Suggestion, type Vocabulary } from './complete.js';
import { Highlighted } from './highlight.js';

export function ExpressionEditor(props: {
  value: string;
  onChange: (value: string) => void;
  vocabulary: Vocabulary;
  problem?: { start: number; end: number } | undefined;
  /** Asked when suggestions need a name's values that the vocabulary does not have yet. */
  onNeedValues?: (name: string) => void;
  label: string;
}) {
  const { value, onChange, vocabulary, onNeedValues } = props;
  const area = useRef<HTMLTextAreaElement>(null);
  const under = useRef<HTMLPreElement>(null);
  const [caret, setCaret] = useState<number | undefined>(undefined);
  const [active, setActive] = useState(0);
  const [closed, setClosed] = useState(false);
  const listId = useId();

  const completion: Completion | undefined = useMemo(
    () => (caret === undefined ? undefined : complete(value, caret, vocabulary)),
    [value, caret, vocabulary],
  );
  const items = completion?.items ?? [];
  const open = !closed && caret !== undefined && items.length > 0;

  useEffect(() => {
    if (completion?.needsValuesOf) onNeedValues?.(completion.needsValuesOf);
  }, [completion?.needsValuesOf, onNeedValues]);
  // A new list of suggestions starts at its first item.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset when the suggestions change
  useEffect(() => setActive(0), [completion?.from, items.length]);

  const track = () => {
    const el = area.current;
    if (el) setCaret(el.selectionStart === el.selectionEnd ? el.selectionStart : undefined);
  };

  const accept = (s: Suggestion) => {
    if (!completion) return;
    const next = value.slice(0, completion.from) + s.insert + value.slice(completion.to);
    const at = completion.from + s.insert.length;
    onChange(next);
    setClosed(false);
    requestAnimationFrame(() => {
      const el = area.current;
      if (!el) return;
      el.focus();
      el.setSelectionRange(at, at);
      setCaret(at);
    });
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (!open) {
      if (e.key === ' ' && e.ctrlKey) {
        e.preventDefault();
        setClosed(false);
        track();
      }
      return;
    }
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => (a + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length);
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      e.preventDefault();
      accept(items[Math.min(active, items.length - 1)]!);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      setClosed(true);
    }
  };

  return (
    <div className="expr-editor">
      <pre ref={under} className="expr-under" aria-hidden="true">
        <Highlighted text={value} problem={props.problem} />
        {'\n'}
      </pre>
      <textarea
        ref={area}
        className="expr-input"
        aria-label={props.label}
        role="combobox"
        aria-expanded={open}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={open ? `${listId}-${active}` : undefined}
        spellCheck={false}
        autoCapitalize="off"
        autoComplete="off"
        rows={3}
        value={value}
        onChange={(e) => {
          onChange(e.target.value);
          setClosed(false);
          setCaret(e.target.selectionStart);
        }}
        onKeyDown={onKeyDown}
        onKeyUp={(e) => {
          if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) track();
          else if ((e.key === 'ArrowUp' || e.key === 'ArrowDown') && !open) track();
        }}
        onClick={track}
        onFocus={track}
        onBlur={() => setCaret(undefined)}
        onScroll={(e) => {
          if (under.current) under.current.scrollTop = e.currentTarget.scrollTop;
        }}
      />
      {open && (
        <div className="suggestions" role="listbox" id={listId} aria-label="Suggestions">
          {items.map((s, i) => (
            // Options stay out of the tab order: the text box keeps focus (aria-activedescendant).
            <div
              key={`${s.kind}:${s.label}`}
              id={`${listId}-${i}`}
              role="option"
              tabIndex={-1}
              aria-selected={i === active}
              className={i === active ? 'suggestion active' : 'suggestion'}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(s);
              }}
            >
              <span className={`sugg-kind sugg-${s.kind}`}>{s.kind}</span>
              <span className="sugg-label">{s.label}</span>
              {s.detail && <span className="sugg-detail">{s.detail}</span>}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
