/**
 * The checker: parsed tag definitions -> typed, immutable IR (ir.ts), or precise problems.
 *
 * It resolves names (event columns, lookup columns, profile attributes, other tags, `as_of`), checks
 * types, checks that aggregates and windows are used where they mean something, orders tags by their
 * dependencies (cycles are errors) and collects *every* problem rather than stopping at the first.
 */
import { createHash } from 'node:crypto';
import type { ProjectConfig } from '../config/project.js';
import { didYouMeanSuffix } from '../util/did-you-mean.js';
import type { Problem } from '../util/problems.js';
import { AGGREGATE_SUGAR, AGGREGATES, isAggregateName, RANK_MEASURES } from './aggregates.js';
import type { Ast, CallArg, Span, WindowAst } from './ast.js';
import { isWindowAst, refsOf } from './ast.js';
import type { ExpressionField, ExpressionFieldName, TagDefinition } from './definitions.js';
import { FUNCTION_BY_NAME, FUNCTIONS } from './functions.js';
import {
  type AggFn,
  type AggId,
  type Aggregate,
  type Expr,
  forEachNode,
  freeze,
  type RankMeasure,
  RECURRENCE_FIELDS,
  SHIFT_FIELDS,
  type TagIR,
  type TagKind,
  type TagName,
  type TagProgram,
  type TagType,
  tagTypeOfValue,
  type ValueType,
  valueTypeOfTag,
  type Window,
} from './ir.js';
import { durationSeconds, ParseError, parseExpression, parseWindow } from './parser.js';
import type { SourceSchemas } from './schemas.js';

export interface CheckResult {
  readonly program?: TagProgram;
  readonly problems: readonly Problem[];
}

type Field = ExpressionFieldName;

/** Where the checker sends problems: positioned in a tag file, or as spans of a standalone expression. */
interface ProblemSink {
  at(field: Field, span: Span, message: string, severity?: Problem['severity']): void;
  key(key: string, message: string, severity?: Problem['severity']): void;
}

/** A problem inside a standalone expression (a segment), by character offsets. */
export interface ExpressionProblem {
  readonly start: number;
  readonly end: number;
  readonly message: string;
}

class SpanReporter implements ProblemSink {
  readonly problems: ExpressionProblem[] = [];
  at(_field: Field, span: Span, message: string): void {
    this.problems.push({ start: span.start, end: Math.max(span.end, span.start + 1), message });
  }
  key(_key: string, message: string): void {
    this.problems.push({ start: 0, end: 1, message });
  }
}

class Reporter implements ProblemSink {
  readonly problems: Problem[] = [];
  constructor(private readonly def: TagDefinition) {}
  at(field: Field, span: Span, message: string, severity: Problem['severity'] = 'error'): void {
    const f: ExpressionField | undefined = this.def.fields[field];
    if (!f) {
      this.problems.push(this.def.file.problem([...this.def.path, field], message, { severity }));
      return;
    }
    const start = f.at(span.start);
    const end = f.at(Math.max(span.start, span.end - 1));
    const length = end.line === start.line ? end.col - start.col + 1 : 1;
    this.problems.push(this.def.file.problemAtPos(start.line, start.col, length, message, severity));
  }
  key(key: string, message: string, severity: Problem['severity'] = 'error'): void {
    this.problems.push(this.def.file.problem([...this.def.path, key], message, { severity }));
  }
}

/** Thrown inside expression checking to abandon one expression after reporting it. */
class Abandon extends Error {}

const SUGGEST_TYPES: Record<ValueType, string> = {
  boolean: 'a boolean',
  number: 'a number',
  string: 'text',
  time: 'a time',
  date: 'a date',
  duration: 'a duration',
  list: 'a list',
  null: 'null',
};

function unify(a: ValueType, b: ValueType): ValueType | undefined {
  if (a === 'null') return b;
  if (b === 'null') return a;
  return a === b ? a : undefined;
}

function literal(type: ValueType, value: boolean | number | string | null): Expr {
  return { kind: 'literal', type, value };
}

/** Stand-ins for sub-expressions that already failed: checks involving them stay silent (no cascades). */
const POISON = new WeakSet<Expr>();
function poison(): Expr {
  const e = literal('null', null);
  POISON.add(e);
  return e;
}

/** A stable short id for an aggregate, from its structure: equal aggregates share one computation. */
export function aggregateId(a: Omit<Aggregate, 'id' | 'type'>): AggId {
  const h = createHash('sha1').update(JSON.stringify(a)).digest('hex').slice(0, 12);
  return `a_${a.fn}_${h}` as AggId;
}

function windowFromAst(w: WindowAst): Window {
  switch (w.kind) {
    case 'last':
      return { kind: 'last', seconds: w.seconds };
    case 'between':
      return { kind: 'between', fromSeconds: w.fromSeconds, toSeconds: w.toSeconds };
    case 'ever':
      return { kind: 'ever' };
  }
}

/** Does `e` read aggregate `id`? */
function usesAggregate(e: Expr, id: string): boolean {
  let found = false;
  forEachNode(e, (x) => {
    if (x.kind === 'agg' && x.id === id) found = true;
  });
  return found;
}

/** The furthest back (seconds before T) a window reaches; undefined for `ever`. */
function reach(w: Window): number | undefined {
  return w.kind === 'ever' ? undefined : w.kind === 'last' ? w.seconds : w.fromSeconds;
}

/** One tag a definition yields: its main value, or a companion output (`<name>_<suffix>`). */
interface KindOutput {
  readonly main: boolean;
  readonly suffix: string;
  readonly value: Expr;
  readonly span: Span;
  readonly doc: string;
}

/** Which kind-specific fields each tag kind accepts. */
const KIND_FIELDS: Record<TagKind, readonly string[]> = {
  aggregate: ['value'],
  derived: ['value'],
  affinity: ['dimension', 'measure', 'top', 'min_support', 'prior', 'min_score'],
  recurrence: ['dimension', 'min_events', 'max_cv'],
  onset: ['signal', 'change', 'baseline', 'detection', 'min_signal', 'max_absent', 'min_history'],
  shift: ['dimension', 'baseline', 'detection', 'min_share', 'min_events'],
};
const ALL_KIND_FIELDS = [...new Set(Object.values(KIND_FIELDS).flat())];

/** Names of the extra tags a definition produces (so other tags can read them). */
export function companionSuffixes(kind: TagKind | undefined, hasDimension = false): readonly string[] {
  switch (kind) {
    case 'recurrence':
      return Object.keys(RECURRENCE_FIELDS).filter((f) => f !== 'regular' && (f !== 'value' || hasDimension));
    case 'shift':
      return Object.keys(SHIFT_FIELDS).filter((f) => f !== 'changed');
    case 'onset':
      return ['since', 'confidence'];
    default:
      return [];
  }
}

interface TagChecking {
  readonly name: TagName;
  readonly source?: string;
  readonly defaultWindow: Window;
  readonly filter?: Expr;
  readonly aggregates: Map<string, Aggregate>;
  readonly dependsOn: Set<TagName>;
  readonly report: ProblemSink;
}

export class Checker {
  private readonly tagTypes = new Map<string, ValueType>();
  private readonly allTagNames: Set<string>;
  /** Companion tag name -> the definition that produces it. */
  private readonly companionOwner = new Map<string, string>();
  private readonly profileColumns = new Map<string, { source: string; type: ValueType | 'other' }[]>();
  private readonly categories: Set<string>;

  constructor(
    private readonly config: ProjectConfig,
    private readonly schemas: SourceSchemas,
    definitions: readonly TagDefinition[],
  ) {
    this.allTagNames = new Set(definitions.map((d) => d.input.name));
    for (const d of definitions) {
      for (const suffix of companionSuffixes(d.input.kind, d.input.dimension !== undefined)) {
        const companion = `${d.input.name}_${suffix}`;
        this.allTagNames.add(companion);
        this.companionOwner.set(companion, d.input.name);
      }
    }
    for (const s of schemas.values()) {
      if (s.kind !== 'profile') continue;
      for (const [c, t] of s.columns) {
        if (c === s.entityKey) continue;
        const list = this.profileColumns.get(c) ?? [];
        list.push({ source: s.name, type: t });
        this.profileColumns.set(c, list);
      }
    }
    this.categories = new Set(config.categories.map((c) => c.name));
  }

  /** Check all definitions; returns the program when there is no error. */
  check(definitions: readonly TagDefinition[]): CheckResult {
    const problems: Problem[] = [];
    const byName = new Map<string, TagDefinition>();
    for (const d of definitions) {
      const prev = byName.get(d.input.name);
      if (prev) {
        const where = prev.file.position([...prev.path, 'name']);
        problems.push(
          d.file.problem(
            [...d.path, 'name'],
            `tag '${d.input.name}' is already defined at ${prev.file.file}:${where.line}`,
          ),
        );
        continue;
      }
      byName.set(d.input.name, d);
    }
    const order = this.dependencyOrder([...byName.values()], problems);
    const tags: TagIR[] = [];
    for (const def of order) {
      const r = this.checkTag(def);
      problems.push(...r.problems);
      for (const tag of r.tags ?? []) {
        tags.push(tag);
        this.tagTypes.set(tag.name, tag.value.type === 'null' ? valueTypeOfTag(tag.type) : tag.value.type);
      }
    }
    if (problems.some((p) => p.severity === 'error')) return { problems };
    const program: TagProgram = {
      tags,
      timezone: this.config.timezone,
      entityKeys: Object.fromEntries(
        [...this.schemas.values()]
          .filter((s) => s.entityKey !== undefined)
          .map((s) => [s.name, s.entityKey!]),
      ),
      timeColumns: Object.fromEntries(
        [...this.schemas.values()]
          .filter((s) => s.timeColumn !== undefined)
          .map((s) => [s.name, s.timeColumn!]),
      ),
      profiles: [...this.schemas.values()].filter((s) => s.kind === 'profile').map((s) => s.name),
      eventSources: [...this.schemas.values()].filter((s) => s.kind === 'events').map((s) => s.name),
    };
    return { program: freeze(program), problems };
  }

  /**
   * Check a standalone expression over an entity's tags and profile attributes (a segment, a trigger
   * condition): the same language and checks as a derived tag's value. Problems are character spans.
   */
  checkExpression(
    text: string,
    tags: readonly TagIR[],
    expected?: ValueType,
  ): { expr?: Expr; problems: readonly ExpressionProblem[] } {
    for (const tag of tags) {
      this.allTagNames.add(tag.name);
      this.tagTypes.set(tag.name, tag.value.type === 'null' ? valueTypeOfTag(tag.type) : tag.value.type);
    }
    const report = new SpanReporter();
    const t: TagChecking = {
      name: '' as TagName,
      defaultWindow: { kind: 'ever' },
      aggregates: new Map(),
      dependsOn: new Set(),
      report,
    };
    const ast = this.parse(t, 'value', text);
    if (!ast) return { problems: report.problems };
    try {
      const e = this.expr(t, 'value', ast, 'entity');
      if (expected) this.expectType(t, 'value', ast, e, [expected], 'the expression');
      return report.problems.length > 0 ? { problems: report.problems } : { expr: freeze(e), problems: [] };
    } catch (e) {
      if (!(e instanceof Abandon)) throw e;
      return { problems: report.problems };
    }
  }

  /** Tags in dependency order; tags in a cycle are reported and left out. */
  private dependencyOrder(defs: readonly TagDefinition[], problems: Problem[]): TagDefinition[] {
    const refs = new Map<string, Set<string>>();
    for (const d of defs) {
      const names = new Set<string>();
      for (const f of ['value', 'where'] as const) {
        const text = d.input[f];
        if (text === undefined) continue;
        try {
          collectRefs(parseExpression(text), names);
        } catch {
          // Parse errors are reported when the tag is checked.
        }
      }
      refs.set(
        d.input.name,
        new Set(
          [...names]
            .filter((n) => this.allTagNames.has(n))
            .map((n) => this.companionOwner.get(n) ?? n)
            .filter((n) => n !== d.input.name),
        ),
      );
    }
    const byName = new Map(defs.map((d) => [d.input.name, d]));
    const state = new Map<string, 'visiting' | 'done'>();
    const order: TagDefinition[] = [];
    const inCycle = new Set<string>();
    const visit = (name: string, stack: string[]) => {
      const s = state.get(name);
      if (s === 'done') return;
      if (s === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(name)), name];
        for (const n of cycle.slice(0, -1)) {
          if (inCycle.has(n)) continue;
          inCycle.add(n);
          const d = byName.get(n)!;
          problems.push(
            d.file.problem([...d.path, 'value'], `tag '${n}' depends on itself: ${cycle.join(' -> ')}`),
          );
        }
        return;
      }
      state.set(name, 'visiting');
      for (const dep of refs.get(name) ?? []) visit(dep, [...stack, name]);
      state.set(name, 'done');
      if (!inCycle.has(name)) order.push(byName.get(name)!);
    };
    for (const d of defs) visit(d.input.name, []);
    return order.filter(
      (d) => !inCycle.has(d.input.name) && ![...(refs.get(d.input.name) ?? [])].some((r) => inCycle.has(r)),
    );
  }

  private checkTag(def: TagDefinition): { tags?: TagIR[]; problems: Problem[] } {
    const report = new Reporter(def);
    const input = def.input;
    const name = input.name as TagName;
    if (!this.categories.has(input.category)) {
      report.key(
        'category',
        `unknown category '${input.category}'${didYouMeanSuffix(input.category, this.categories)} (categories: ${[...this.categories].join(', ')})`,
      );
    }
    let source: string | undefined;
    if (input.from !== undefined) {
      const s = this.schemas.get(input.from);
      if (!s) {
        const known = this.config.sources.get(input.from);
        const events = [...this.schemas.values()].filter((x) => x.kind === 'events').map((x) => x.name);
        report.key(
          'from',
          known
            ? `source '${input.from}' has no readable data yet (ingest it, or check its files)`
            : `unknown source '${input.from}'${didYouMeanSuffix(input.from, events)}`,
        );
      } else if (s.kind !== 'events') {
        report.key('from', `'from' needs an events source; '${input.from}' is a ${s.kind} source`);
      } else source = input.from;
      if (input.kind === 'derived')
        report.key('kind', "a derived tag has no 'from'; remove 'from' or use kind: aggregate");
    } else {
      if (input.where !== undefined)
        report.key('where', "'where' filters events: it needs 'from: <events source>'");
      if (input.window !== undefined)
        report.key('window', "'window' applies to aggregates over events: it needs 'from: <events source>'");
      if (input.kind === 'aggregate') report.key('kind', "an aggregate tag needs 'from: <events source>'");
    }
    if (report.problems.some((p) => p.severity === 'error') && input.from !== undefined && !source) {
      return { problems: report.problems };
    }

    let defaultWindow: Window = { kind: 'ever' };
    if (input.window !== undefined && source) {
      try {
        defaultWindow = windowFromAst(parseWindow(input.window));
      } catch (e) {
        if (e instanceof ParseError) report.at('window', e, e.message);
        else throw e;
      }
    }
    const t: TagChecking = {
      name,
      ...(source ? { source } : {}),
      defaultWindow,
      aggregates: new Map(),
      dependsOn: new Set(),
      report,
    };
    let filter: Expr | undefined;
    if (input.where !== undefined && source) {
      const ast = this.parse(t, 'where', input.where);
      if (ast) {
        try {
          filter = this.expectType(
            t,
            'where',
            ast,
            this.expr(t, 'where', ast, 'row'),
            ['boolean'],
            "'where'",
          );
        } catch (e) {
          if (!(e instanceof Abandon)) throw e;
        }
      }
    }
    const withFilter: TagChecking = { ...t, ...(filter ? { filter } : {}) };
    const kind: TagKind = input.kind ?? (source ? 'aggregate' : 'derived');
    const outputs = this.kindOutputs(def, withFilter, kind, report);
    if (!outputs) return { problems: report.problems };
    const position = def.file.position([...def.path, 'name']);
    const tags: TagIR[] = [];
    for (const o of outputs) {
      const inferred = tagTypeOfValue(o.value.type);
      let type: TagType | undefined = o.main ? input.type : undefined;
      if (!inferred) {
        report.at('value', o.span, `the value is ${SUGGEST_TYPES[o.value.type]}, which a tag cannot hold`);
      } else if (type !== undefined && type !== inferred) {
        report.at(
          'value',
          o.span,
          `the tag is declared type: ${type} but its value is ${SUGGEST_TYPES[o.value.type]} (type: ${inferred})`,
        );
      }
      type ??= inferred;
      if (!type) continue;
      const tagName = (o.main ? name : `${name}_${o.suffix}`) as TagName;
      tags.push(
        freeze({
          name: tagName,
          title: o.main
            ? (input.title ?? humanize(input.name))
            : `${input.title ?? humanize(input.name)}: ${o.suffix.replace(/_/g, ' ')}`,
          description: o.main ? input.description : `${o.doc} (part of ${name}: ${input.description})`,
          category: input.category,
          owner: input.owner ?? '',
          status: input.status ?? 'draft',
          type,
          kind,
          ...(source ? { source } : {}),
          aggregates: [...withFilter.aggregates.values()].filter((a) => usesAggregate(o.value, a.id)),
          value: o.value,
          dependsOn: o.main ? [...withFilter.dependsOn].sort() : [name],
          ...(o.main ? {} : { companionOf: name }),
          file: def.file.file,
          line: position.line,
          definition: { ...input },
        } satisfies TagIR),
      );
    }
    if (report.problems.some((p) => p.severity === 'error')) return { problems: report.problems };
    return { tags, problems: report.problems };
  }

  /** Add an aggregate to the tag being checked (shared by identical aggregates) and return a reference. */
  private addAggregate(
    t: TagChecking,
    base: Omit<Aggregate, 'id' | 'type'>,
    type: ValueType,
    field?: string,
  ): Expr {
    const id = aggregateId(base);
    if (!t.aggregates.has(id)) t.aggregates.set(id, freeze({ id, ...base, type } as Aggregate));
    return { kind: 'agg', id, ...(field !== undefined ? { field } : {}), type };
  }

  /** Parse a window field (baseline, detection), with a default. */
  private windowField(t: TagChecking, field: Field, text: string | undefined, fallback: Window): Window {
    if (text === undefined) return fallback;
    try {
      return windowFromAst(parseWindow(text));
    } catch (e) {
      if (e instanceof ParseError) {
        t.report.at(field, e, e.message);
        throw new Abandon();
      }
      throw e;
    }
  }

  /** The value(s) of a definition according to its kind: the main tag and any companion outputs. */
  private kindOutputs(
    def: TagDefinition,
    t: TagChecking,
    kind: TagKind,
    report: Reporter,
  ): KindOutput[] | undefined {
    const input = def.input as Record<string, unknown> & typeof def.input;
    for (const f of ALL_KIND_FIELDS) {
      if (input[f] === undefined || KIND_FIELDS[kind].includes(f)) continue;
      const kinds = (Object.keys(KIND_FIELDS) as TagKind[]).filter((k) => KIND_FIELDS[k].includes(f));
      report.key(f, `'${f}' does not apply to a ${kind} tag (it is for ${kinds.join(', ')} tags)`);
    }
    if (kind !== 'aggregate' && kind !== 'derived' && !t.source) {
      if (input.from === undefined)
        report.key('kind', `a ${kind} tag reads events: it needs 'from: <events source>'`);
      return undefined;
    }
    const whole: Span = { start: 0, end: 1 };
    const rowExpr = (field: Field, text: string, types: readonly ValueType[], what: string): Expr => {
      const ast = this.parse(t, field, text);
      if (!ast) throw new Abandon();
      return this.expectType(t, field, ast, this.expr(t, field, ast, 'row', true), types, what);
    };
    const and = (a: Expr | undefined, b: Expr): Expr =>
      a ? { kind: 'logic', op: 'and', left: a, right: b, type: 'boolean' } : b;
    const source = t.source!;
    const asOf: Expr = { kind: 'as_of', type: 'time' };
    const num = (v: number): Expr => literal('number', v);
    try {
      switch (kind) {
        case 'aggregate':
        case 'derived': {
          if (input.value === undefined) {
            report.key('name', `a ${kind} tag needs a 'value'`);
            return undefined;
          }
          if (kind === 'aggregate' && !t.source) {
            if (input.from === undefined)
              report.key('kind', "an aggregate tag needs 'from: <events source>'");
            return undefined;
          }
          const valueAst = this.parse(t, 'value', input.value);
          if (!valueAst) return undefined;
          const value = this.expr(t, 'value', valueAst, 'entity');
          if (t.source && t.aggregates.size === 0) {
            report.at(
              'value',
              valueAst.span,
              `a tag with 'from: ${t.source}' must aggregate its events, e.g. count() or sum(amount)`,
            );
          }
          return [{ main: true, suffix: '', value, span: valueAst.span, doc: '' }];
        }
        case 'affinity': {
          if (input.dimension === undefined) {
            report.key('name', "an affinity tag needs a 'dimension' (the column whose values are ranked)");
            return undefined;
          }
          const dim = rowExpr('dimension', input.dimension, ['string'], "'dimension'");
          let measure: RankMeasure = { fn: 'count' };
          if (input.measure !== undefined) {
            const m = this.parse(t, 'measure', input.measure);
            if (!m) return undefined;
            measure = this.rankMeasure(t, 'measure', m);
          }
          const value = this.addAggregate(
            t,
            {
              source,
              fn: 'affinity',
              arg: dim,
              ...(t.filter ? { filter: t.filter } : {}),
              window: t.defaultWindow,
              affinity: {
                measure,
                k: input.top ?? 3,
                minSupport: input.min_support ?? 2,
                prior: input.prior ?? 5,
                minScore: input.min_score ?? 1.2,
              },
            },
            'list',
          );
          return [{ main: true, suffix: '', value, span: whole, doc: '' }];
        }
        case 'recurrence': {
          // With a dimension (e.g. merchant_id) each value's cycle is found and the most regular kept.
          const dim =
            input.dimension !== undefined
              ? rowExpr('dimension', input.dimension, ['string'], "'dimension'")
              : undefined;
          const base = {
            source,
            fn: 'recurrence' as const,
            ...(dim ? { arg: dim } : {}),
            ...(t.filter ? { filter: t.filter } : {}),
            window: t.defaultWindow,
            recurrence: { minEvents: input.min_events ?? 4, maxCv: input.max_cv ?? 0.35 },
          };
          const docs: Record<string, string> = {
            period_days: 'Typical days between purchases',
            cv: 'Irregularity of the cycle (coefficient of variation of the gaps; lower is more regular)',
            cycles: 'Purchase episodes seen in the window',
            last: 'Time of the latest purchase',
            next_due: 'When the next purchase is due (last + period)',
            overdue: 'The next purchase is late (due date plus a grace of a quarter period, at least a day)',
            value: 'The dimension value (e.g. merchant) of the strongest cycle',
          };
          return Object.entries(RECURRENCE_FIELDS)
            .filter(([field]) => field !== 'value' || dim !== undefined)
            .map(([field, type]) => ({
              main: field === 'regular',
              suffix: field,
              value: this.addAggregate(t, base, type, field),
              span: whole,
              doc: docs[field] ?? field,
            }));
        }
        case 'shift': {
          if (input.dimension === undefined) {
            report.key(
              'name',
              "a shift tag needs a 'dimension' (the column whose dominant value may change)",
            );
            return undefined;
          }
          const dim = rowExpr('dimension', input.dimension, ['string'], "'dimension'");
          const baseline = this.windowField(t, 'baseline', input.baseline, {
            kind: 'between',
            fromSeconds: 365 * 86400,
            toSeconds: 60 * 86400,
          });
          const detection = this.windowField(t, 'detection', input.detection, {
            kind: 'last',
            seconds: 60 * 86400,
          });
          const far = [reach(baseline), reach(detection)];
          const window: Window = far.some((x) => x === undefined)
            ? { kind: 'ever' }
            : { kind: 'last', seconds: Math.max(...(far as number[])) };
          const base = {
            source,
            fn: 'shift' as const,
            arg: dim,
            ...(t.filter ? { filter: t.filter } : {}),
            window,
            shift: {
              baseline,
              detection,
              minShare: input.min_share ?? 0.6,
              minEvents: input.min_events ?? 5,
            },
          };
          const docs: Record<string, string> = {
            from: 'The dominant value before the change',
            to: 'The dominant value after the change',
            since: 'First event with the new dominant value',
            confidence: 'How sure the change is, 0 to 1 (dominance and volume of both windows)',
          };
          return Object.entries(SHIFT_FIELDS).map(([field, type]) => ({
            main: field === 'changed',
            suffix: field,
            value: this.addAggregate(t, base, type, field),
            span: whole,
            doc: docs[field] ?? field,
          }));
        }
        case 'onset': {
          if (input.signal === undefined) {
            report.key('name', "an onset tag needs a 'signal' (the row condition that starts or stops)");
            return undefined;
          }
          const signal = rowExpr('signal', input.signal, ['boolean'], "'signal'");
          const baseline = this.windowField(t, 'baseline', input.baseline, {
            kind: 'between',
            fromSeconds: 365 * 86400,
            toSeconds: 90 * 86400,
          });
          const detection = this.windowField(t, 'detection', input.detection, {
            kind: 'last',
            seconds: 90 * 86400,
          });
          const stop = input.change === 'stop';
          const present = stop ? baseline : detection;
          const absent = stop ? detection : baseline;
          let historySeconds = reach(baseline) ?? 0;
          if (input.min_history !== undefined) {
            const text = input.min_history.trim();
            if (!/^\d+(\.\d+)?[smhdw]$/.test(text)) {
              report.key(
                'min_history',
                `'min_history' must be a duration like 180d, got '${input.min_history}'`,
              );
              return undefined;
            }
            historySeconds = durationSeconds(text);
          }
          const filter = and(t.filter, signal);
          const count = (w: Window) =>
            this.addAggregate(t, { source, fn: 'count', filter, window: w }, 'number');
          const nPresent = count(present);
          const nAbsent = count(absent);
          const first = this.addAggregate(t, { source, fn: 'first_time', window: { kind: 'ever' } }, 'time');
          const historyDays: Expr = { kind: 'call', fn: 'days_between', args: [first, asOf], type: 'number' };
          const minHistDays = historySeconds / 86400;
          const value: Expr = and(
            and(
              {
                kind: 'compare',
                op: '>=',
                left: nPresent,
                right: num(input.min_signal ?? 2),
                type: 'boolean',
              },
              {
                kind: 'compare',
                op: '<=',
                left: nAbsent,
                right: num(input.max_absent ?? 0),
                type: 'boolean',
              },
            ),
            { kind: 'compare', op: '>=', left: historyDays, right: num(minHistDays), type: 'boolean' },
          );
          const sinceAgg = this.addAggregate(
            t,
            { source, fn: stop ? 'last_time' : 'first_time', filter, window: present },
            'time',
          );
          const when = (then: Expr, type: ValueType): Expr => ({
            kind: 'case',
            whens: [{ when: value, result: then }],
            else: literal('null', null),
            type,
          });
          const confidence: Expr = {
            kind: 'arith',
            op: '*',
            left: {
              kind: 'arith',
              op: '/',
              left: nPresent,
              right: { kind: 'arith', op: '+', left: nPresent, right: num(1), type: 'number' },
              type: 'number',
            },
            right: {
              kind: 'call',
              fn: 'least',
              args: [
                num(1),
                {
                  kind: 'arith',
                  op: '/',
                  left: historyDays,
                  right: num(Math.max(1, 1.5 * minHistDays)),
                  type: 'number',
                },
              ],
              type: 'number',
            },
            type: 'number',
          };
          return [
            { main: true, suffix: '', value, span: whole, doc: '' },
            {
              main: false,
              suffix: 'since',
              value: when(sinceAgg, 'time'),
              span: whole,
              doc: stop ? 'Last signal event before it stopped' : 'First signal event of the onset',
            },
            {
              main: false,
              suffix: 'confidence',
              value: when(confidence, 'number'),
              span: whole,
              doc: 'How sure the onset is, 0 to 1 (signal volume and history length)',
            },
          ];
        }
      }
    } catch (e) {
      if (e instanceof Abandon) return undefined;
      throw e;
    }
  }

  private parse(t: TagChecking, field: Field, text: string): Ast | undefined {
    try {
      return parseExpression(text);
    } catch (e) {
      if (e instanceof ParseError) {
        t.report.at(field, e, e.message);
        return undefined;
      }
      throw e;
    }
  }

  private fail(t: TagChecking, field: Field, span: Span, message: string): never {
    t.report.at(field, span, message);
    throw new Abandon();
  }

  private expectType(
    t: TagChecking,
    field: Field,
    ast: Ast,
    e: Expr,
    allowed: readonly ValueType[],
    what: string,
  ): Expr {
    if (e.type === 'null' || allowed.includes(e.type)) return e;
    if (POISON.has(e)) throw new Abandon();
    this.fail(
      t,
      field,
      ast.span,
      `${what} must be ${allowed.map((a) => SUGGEST_TYPES[a]).join(' or ')}, not ${SUGGEST_TYPES[e.type]}`,
    );
  }

  /**
   * Check an expression in a context: `row` (one event) or `entity` (aggregates, tags, profile).
   * Children are checked one by one even after a problem, so every problem of an expression is
   * reported; the expression is abandoned afterwards.
   */
  private expr(t: TagChecking, field: Field, ast: Ast, ctx: 'row' | 'entity', inAggregate = false): Expr {
    let failed = false;
    const sub = (a: Ast): Expr => {
      try {
        return this.expr(t, field, a, ctx, inAggregate);
      } catch (e) {
        if (!(e instanceof Abandon)) throw e;
        failed = true;
        return poison();
      }
    };
    const result = this.exprNode(t, field, ast, ctx, inAggregate, sub);
    if (failed) throw new Abandon();
    return result;
  }

  /** Check several expressions, reporting the problems of each before giving up. */
  private all(
    t: TagChecking,
    field: Field,
    asts: readonly Ast[],
    ctx: 'row' | 'entity',
    inAggregate: boolean,
  ): Expr[] {
    let failed = false;
    const out = asts.map((a) => {
      try {
        return this.expr(t, field, a, ctx, inAggregate);
      } catch (e) {
        if (!(e instanceof Abandon)) throw e;
        failed = true;
        return poison();
      }
    });
    if (failed) throw new Abandon();
    return out;
  }

  private exprNode(
    t: TagChecking,
    field: Field,
    ast: Ast,
    ctx: 'row' | 'entity',
    inAggregate: boolean,
    sub: (a: Ast) => Expr,
  ): Expr {
    switch (ast.kind) {
      case 'number':
        return literal('number', ast.value);
      case 'string':
        return literal('string', ast.value);
      case 'boolean':
        return literal('boolean', ast.value);
      case 'null':
        return literal('null', null);
      case 'duration':
        return literal('duration', ast.seconds);
      case 'ref':
        return this.ref(t, field, ast, ctx);
      case 'unary': {
        const arg = sub(ast.arg);
        if (ast.op === '-') {
          this.expectType(t, field, ast.arg, arg, ['number'], "'-'");
          return { kind: 'neg', arg, type: 'number' };
        }
        this.expectType(t, field, ast.arg, arg, ['boolean'], "'not'");
        return { kind: 'not', arg, type: 'boolean' };
      }
      case 'binary': {
        const left = sub(ast.left);
        const right = sub(ast.right);
        if (ast.op === 'and' || ast.op === 'or') {
          this.expectType(t, field, ast.left, left, ['boolean'], `the left side of '${ast.op}'`);
          this.expectType(t, field, ast.right, right, ['boolean'], `the right side of '${ast.op}'`);
          return { kind: 'logic', op: ast.op, left, right, type: 'boolean' };
        }
        if (ast.op === '+' || ast.op === '-' || ast.op === '*' || ast.op === '/' || ast.op === '%') {
          if ((ast.op === '+' || ast.op === '-') && left.type === 'time' && right.type === 'duration') {
            return { kind: 'arith', op: ast.op, left, right, type: 'time' };
          }
          if (ast.op === '-' && left.type === 'time' && right.type === 'time') {
            this.fail(t, field, ast.span, 'to subtract two times use days_between(earlier, later)');
          }
          if (left.type === 'duration' || right.type === 'duration') {
            this.fail(
              t,
              field,
              ast.span,
              'a duration (like 30d) can only be added to or subtracted from a time',
            );
          }
          this.expectType(t, field, ast.left, left, ['number'], `the left side of '${ast.op}'`);
          this.expectType(t, field, ast.right, right, ['number'], `the right side of '${ast.op}'`);
          return { kind: 'arith', op: ast.op, left, right, type: 'number' };
        }
        return this.comparison(t, field, ast, ast.op, left, right);
      }
      case 'in': {
        const arg = sub(ast.arg);
        const list = ast.list.map(sub);
        let type: ValueType = arg.type;
        for (const [i, item] of list.entries()) {
          const u = unify(type, item.type);
          if (!u || u === 'list' || u === 'duration') {
            this.fail(
              t,
              field,
              ast.list[i]!.span,
              `'in' compares ${SUGGEST_TYPES[arg.type]} with ${SUGGEST_TYPES[item.type]}`,
            );
          }
          type = u;
        }
        return { kind: 'in', arg, list, negated: ast.negated, type: 'boolean' };
      }
      case 'between': {
        const arg = sub(ast.arg);
        const low = this.comparison(t, field, ast, '>=', arg, sub(ast.low));
        const high = this.comparison(t, field, ast, '<=', arg, sub(ast.high));
        const both: Expr = { kind: 'logic', op: 'and', left: low, right: high, type: 'boolean' };
        return ast.negated ? { kind: 'not', arg: both, type: 'boolean' } : both;
      }
      case 'is_null':
        return { kind: 'is_null', arg: sub(ast.arg), negated: ast.negated, type: 'boolean' };
      case 'case': {
        const whens = ast.whens.map((w) => ({
          when: this.expectType(t, field, w.when, sub(w.when), ['boolean'], "a 'when' condition"),
          result: sub(w.result),
        }));
        const elseExpr = ast.else ? sub(ast.else) : literal('null', null);
        let type: ValueType = 'null';
        for (const [i, v] of [...whens.map((w) => w.result), elseExpr].entries()) {
          const u = unify(type, v.type);
          const span = i < whens.length ? ast.whens[i]!.result.span : (ast.else?.span ?? ast.span);
          if (!u)
            this.fail(
              t,
              field,
              span,
              `the branches of 'case' must have one type: ${SUGGEST_TYPES[type]} and ${SUGGEST_TYPES[v.type]} differ`,
            );
          type = u;
        }
        return { kind: 'case', whens, else: elseExpr, type };
      }
      case 'call':
        return this.call(t, field, ast, ctx, inAggregate);
    }
  }

  private comparison(
    t: TagChecking,
    field: Field,
    ast: Ast,
    op: '=' | '!=' | '<' | '<=' | '>' | '>=',
    left: Expr,
    right: Expr,
  ): Expr {
    if (POISON.has(left) || POISON.has(right)) throw new Abandon();
    const u = unify(left.type, right.type);
    if (!u) {
      const hint =
        (left.type === 'time' && right.type === 'string') || (left.type === 'string' && right.type === 'time')
          ? " (write times as timestamp('2025-03-01T00:00:00Z'))"
          : (left.type === 'date' && right.type === 'string') ||
              (left.type === 'string' && right.type === 'date')
            ? " (write dates as date('2025-03-01'))"
            : '';
      this.fail(
        t,
        field,
        ast.span,
        `cannot compare ${SUGGEST_TYPES[left.type]} with ${SUGGEST_TYPES[right.type]}${hint}`,
      );
    }
    if (u === 'list' || u === 'duration')
      this.fail(t, field, ast.span, `${SUGGEST_TYPES[u]} cannot be compared`);
    if (u === 'boolean' && op !== '=' && op !== '!=')
      this.fail(t, field, ast.span, `booleans can only be compared with = or !=`);
    return { kind: 'compare', op, left, right, type: 'boolean' };
  }

  private ref(t: TagChecking, field: Field, ast: Extract<Ast, { kind: 'ref' }>, ctx: 'row' | 'entity'): Expr {
    const { name, qualifier } = ast;
    const eventSchema = t.source ? this.schemas.get(t.source) : undefined;
    const columnType = (source: string, col: string, type: ValueType | 'other'): ValueType => {
      if (type === 'other')
        this.fail(
          t,
          field,
          ast.span,
          `column '${col}' of '${source}' has a type the tag language cannot read`,
        );
      return type;
    };
    if (qualifier !== undefined) {
      const s = this.schemas.get(qualifier);
      if (!s) {
        this.fail(
          t,
          field,
          ast.span,
          `unknown source '${qualifier}'${didYouMeanSuffix(qualifier, this.schemas.keys())}`,
        );
      }
      const type = s.columns.get(name);
      if (type === undefined) {
        this.fail(
          t,
          field,
          ast.span,
          `source '${qualifier}' has no column '${name}'${didYouMeanSuffix(name, s.columns.keys())}`,
        );
      }
      if (s.kind === 'profile')
        return { kind: 'profile', source: s.name, column: name, type: columnType(s.name, name, type) };
      if (s.kind === 'events' && s.name === t.source && ctx === 'row') {
        return { kind: 'column', source: s.name, column: name, type: columnType(s.name, name, type) };
      }
      if (s.kind === 'events' && s.name === t.source) {
        this.fail(
          t,
          field,
          ast.span,
          `the column '${qualifier}.${name}' must be inside an aggregate, e.g. sum(${name}) or last(${name})`,
        );
      }
      this.fail(
        t,
        field,
        ast.span,
        `'${qualifier}.${name}' cannot be used here: only the tag's own events source ('from') and profile sources can be read`,
      );
    }
    if (name === 'as_of') return { kind: 'as_of', type: 'time' };
    if (ctx === 'row' && eventSchema) {
      const type = eventSchema.columns.get(name);
      if (type !== undefined)
        return {
          kind: 'column',
          source: eventSchema.name,
          column: name,
          type: columnType(eventSchema.name, name, type),
        };
    }
    if (ctx === 'entity' && this.allTagNames.has(name)) {
      if (name === t.name) this.fail(t, field, ast.span, `tag '${name}' cannot refer to itself`);
      const type = this.tagTypes.get(name);
      if (type === undefined)
        this.fail(t, field, ast.span, `tag '${name}' has errors, so '${t.name}' cannot be checked`);
      t.dependsOn.add(name as TagName);
      return { kind: 'tag', name: name as TagName, type };
    }
    const profile = this.profileColumns.get(name);
    if (profile && profile.length === 1) {
      const p = profile[0]!;
      return { kind: 'profile', source: p.source, column: name, type: columnType(p.source, name, p.type) };
    }
    if (profile && profile.length > 1) {
      this.fail(
        t,
        field,
        ast.span,
        `'${name}' is a column of several profile sources (${profile.map((p) => p.source).join(', ')}); write source.${name}`,
      );
    }
    if (ctx === 'row' && this.allTagNames.has(name)) {
      this.fail(
        t,
        field,
        ast.span,
        `tag '${name}' cannot be used inside an aggregate or 'where' (they read one event at a time); use it in the value outside the aggregate`,
      );
    }
    if (ctx === 'entity' && eventSchema?.columns.has(name)) {
      this.fail(
        t,
        field,
        ast.span,
        `the column '${name}' must be inside an aggregate, e.g. sum(${name}), max(${name}) or last(${name})`,
      );
    }
    const candidates = [
      ...(ctx === 'row' && eventSchema ? eventSchema.columns.keys() : []),
      ...(ctx === 'entity' ? this.allTagNames : []),
      ...this.profileColumns.keys(),
      'as_of',
    ];
    const message =
      ctx === 'row'
        ? `unknown column '${name}'${eventSchema ? ` of '${eventSchema.name}'` : ''}`
        : `unknown tag or profile attribute '${name}'${t.source ? ' (event columns go inside aggregates)' : ''}`;
    this.fail(t, field, ast.span, `${message}${didYouMeanSuffix(name, candidates)}`);
  }

  private call(
    t: TagChecking,
    field: Field,
    ast: Extract<Ast, { kind: 'call' }>,
    ctx: 'row' | 'entity',
    inAggregate: boolean,
  ): Expr {
    const name = ast.name.toLowerCase();
    if (isAggregateName(name)) return this.aggregateCall(t, field, ast, name, ctx, inAggregate);
    if (name === 'ratio' || name === 'if') {
      const args = this.positional(t, field, ast, name === 'ratio' ? 2 : 3);
      const vals = this.all(t, field, args, ctx, inAggregate);
      if (name === 'ratio') {
        for (const [i, v] of vals.entries()) {
          this.expectType(t, field, args[i]!, v, ['number'], `argument ${i + 1} of ratio()`);
        }
        return { kind: 'arith', op: '/', left: vals[0]!, right: vals[1]!, type: 'number' };
      }
      this.expectType(t, field, args[0]!, vals[0]!, ['boolean'], 'the condition of if()');
      const type = unify(vals[1]!.type, vals[2]!.type);
      if (!type)
        this.fail(
          t,
          field,
          ast.span,
          `the two branches of if() must have one type, not ${SUGGEST_TYPES[vals[1]!.type]} and ${SUGGEST_TYPES[vals[2]!.type]}`,
        );
      return { kind: 'case', whens: [{ when: vals[0]!, result: vals[1]! }], else: vals[2]!, type };
    }
    const fn = FUNCTION_BY_NAME.get(name);
    if (!fn) {
      const known = [
        ...FUNCTIONS.map((f) => f.name),
        ...Object.keys(AGGREGATES),
        ...AGGREGATE_SUGAR,
        'ratio',
        'if',
      ];
      this.fail(t, field, ast.nameSpan, `unknown function '${ast.name}'${didYouMeanSuffix(name, known)}`);
    }
    const args = this.positional(t, field, ast, undefined);
    const min = fn.minArgs ?? fn.params.length;
    const max = fn.variadic ? Number.POSITIVE_INFINITY : fn.params.length;
    if (args.length < min || args.length > max) {
      const expected = fn.variadic ? `at least ${min}` : min === max ? `${min}` : `${min} to ${max}`;
      this.fail(
        t,
        field,
        ast.span,
        `${name}() takes ${expected} argument${max === 1 ? '' : 's'}, got ${args.length}`,
      );
    }
    const vals = this.all(t, field, args, ctx, inAggregate);
    vals.forEach((v, i) => {
      const allowed = fn.params[Math.min(i, fn.params.length - 1)]!;
      this.expectType(t, field, args[i]!, v, allowed, `argument ${i + 1} of ${name}()`);
    });
    if (fn.variadic || fn.sameType) {
      let type: ValueType = 'null';
      vals.forEach((v, i) => {
        const u = unify(type, v.type);
        if (!u) this.fail(t, field, args[i]!.span, `the arguments of ${name}() must have one type`);
        type = u;
      });
    }
    const types = vals.map((v) => v.type);
    return { kind: 'call', fn: name, args: vals, type: fn.returns(types) };
  }

  private positional(
    t: TagChecking,
    field: Field,
    ast: Extract<Ast, { kind: 'call' }>,
    count: number | undefined,
  ): Ast[] {
    const out: Ast[] = [];
    for (const a of ast.args) {
      if (a.name !== undefined)
        this.fail(t, field, a.nameSpan ?? ast.span, `${ast.name}() has no named argument '${a.name}'`);
      if (isWindowAst(a.value))
        this.fail(t, field, a.value.span, `${ast.name}() is not an aggregate: a window does not apply to it`);
      out.push(a.value as Ast);
    }
    if (count !== undefined && out.length !== count)
      this.fail(t, field, ast.span, `${ast.name}() takes ${count} arguments, got ${out.length}`);
    return out;
  }

  private aggregateCall(
    t: TagChecking,
    field: Field,
    ast: Extract<Ast, { kind: 'call' }>,
    name: string,
    ctx: 'row' | 'entity',
    inAggregate: boolean,
  ): Expr {
    if (inAggregate || ctx === 'row') {
      this.fail(
        t,
        field,
        ast.span,
        inAggregate
          ? 'aggregates cannot be nested'
          : `the aggregate ${name}() cannot be used in a row filter`,
      );
    }
    if (!t.source) {
      this.fail(
        t,
        field,
        ast.span,
        `${name}() aggregates events: the tag needs 'from: <events source>' (or refer to an aggregate tag instead)`,
      );
    }
    const source = t.source;
    // Split arguments: positional values, named where/window/by, a positional window.
    const positional: Ast[] = [];
    let where: Ast | undefined;
    let window: WindowAst | undefined;
    let by: Ast | undefined;
    for (const a of ast.args as readonly CallArg[]) {
      if (a.name === undefined) {
        if (isWindowAst(a.value)) {
          if (window) this.fail(t, field, a.value.span, 'the window is given twice');
          window = a.value;
        } else positional.push(a.value as Ast);
        continue;
      }
      if (a.name === 'where') where = a.value as Ast;
      else if (a.name === 'window') window = a.value as WindowAst;
      else if (a.name === 'by' && (name === 'top' || name === 'argmax')) by = a.value as Ast;
      else {
        const allowed = name === 'top' || name === 'argmax' ? ['where', 'window', 'by'] : ['where', 'window'];
        this.fail(
          t,
          field,
          a.nameSpan ?? ast.span,
          `${name}() has no argument '${a.name}'${didYouMeanSuffix(a.name, allowed)} (it takes ${allowed.join(', ')})`,
        );
      }
    }
    const win: Window = window ? windowFromAst(window) : t.defaultWindow;
    let filter = t.filter;
    const andFilter = (extra: Expr) => {
      filter = filter ? { kind: 'logic', op: 'and', left: filter, right: extra, type: 'boolean' } : extra;
    };
    if (where) {
      andFilter(
        this.expectType(t, field, where, this.expr(t, field, where, 'row', true), ['boolean'], "'where'"),
      );
    }
    const rowValue = (a: Ast) => this.expr(t, field, a, 'row', true);
    const timeCol = this.schemas.get(source)!.timeColumn!;
    const tsColumn: Expr = { kind: 'column', source, column: timeCol, type: 'time' };
    const make = (fn: AggFn, arg: Expr | undefined, extra: { k?: number; by?: RankMeasure } = {}): Expr => {
      const spec = AGGREGATES[fn];
      const base = {
        source,
        fn,
        ...(arg ? { arg } : {}),
        ...(filter ? { filter } : {}),
        window: win,
        ...(extra.k !== undefined ? { k: extra.k } : {}),
        ...(extra.by ? { by: extra.by } : {}),
      };
      const id = aggregateId(base);
      const type = spec.returns(arg?.type);
      if (!t.aggregates.has(id)) t.aggregates.set(id, freeze({ id, ...base, type }));
      return { kind: 'agg', id, type };
    };
    const takes = (n: number, optional = false) => {
      if (positional.length > n || (!optional && positional.length < n)) {
        this.fail(
          t,
          field,
          ast.span,
          `${name}() takes ${n === 0 ? 'no' : n} value argument${n === 1 ? '' : 's'}${optional ? ' (optional)' : ''}, got ${positional.length}`,
        );
      }
    };
    switch (name) {
      case 'count_if': {
        takes(1);
        andFilter(
          this.expectType(
            t,
            field,
            positional[0]!,
            rowValue(positional[0]!),
            ['boolean'],
            'the condition of count_if()',
          ),
        );
        return make('count', undefined);
      }
      case 'distinct_days': {
        takes(0);
        const day: Expr = { kind: 'call', fn: 'date', args: [tsColumn], type: 'date' };
        return make('distinct_count', day);
      }
      case 'days_since_last':
      case 'days_since_first': {
        takes(0);
        const when = make(name === 'days_since_last' ? 'last_time' : 'first_time', undefined);
        return {
          kind: 'call',
          fn: 'days_between',
          args: [when, { kind: 'as_of', type: 'time' }],
          type: 'number',
        };
      }
      case 'top':
      case 'argmax': {
        const isTop = name === 'top';
        if (positional.length !== (isTop ? 2 : 1)) {
          this.fail(
            t,
            field,
            ast.span,
            isTop
              ? 'top() takes a dimension and a count, e.g. top(category, 3, by: sum(amount))'
              : 'argmax() takes a dimension, e.g. argmax(category, by: sum(amount))',
          );
        }
        const dim = this.expectType(
          t,
          field,
          positional[0]!,
          rowValue(positional[0]!),
          ['string'],
          `the dimension of ${name}()`,
        );
        let k: number | undefined;
        if (isTop) {
          const kAst = positional[1]!;
          if (kAst.kind !== 'number' || !Number.isInteger(kAst.value) || kAst.value < 1 || kAst.value > 100) {
            this.fail(t, field, kAst.span, 'the count of top() must be a whole number from 1 to 100');
          }
          k = kAst.value;
        }
        const measure = by ? this.rankMeasure(t, field, by) : { fn: 'count' as const };
        return make(name, dim, { ...(k !== undefined ? { k } : {}), by: measure });
      }
      default: {
        const fn = name as AggFn;
        const spec = AGGREGATES[fn];
        if (!spec.arg) {
          takes(0);
          return make(fn, undefined);
        }
        takes(1, spec.argOptional);
        const argAst = positional[0];
        if (!argAst) return make(fn, undefined);
        const arg = this.expectType(
          t,
          field,
          argAst,
          rowValue(argAst),
          spec.arg,
          `the argument of ${name}()`,
        );
        if (arg.type === 'null') this.fail(t, field, argAst.span, `${name}(null) is always empty`);
        return make(fn, arg);
      }
    }
  }

  private rankMeasure(t: TagChecking, field: Field, by: Ast): RankMeasure {
    if (by.kind !== 'call' || !(RANK_MEASURES as readonly string[]).includes(by.name.toLowerCase())) {
      this.fail(t, field, by.span, `'by' ranks values with count(), sum(x) or distinct_days()`);
    }
    const fn = by.name.toLowerCase() as RankMeasure['fn'];
    const args = by.args;
    if (fn === 'sum') {
      const a = args[0];
      if (args.length !== 1 || !a || a.name !== undefined || isWindowAst(a.value))
        this.fail(t, field, by.span, "'by: sum(x)' takes one value");
      const arg = this.expectType(
        t,
        field,
        a.value as Ast,
        this.expr(t, field, a.value as Ast, 'row', true),
        ['number'],
        'the argument of sum()',
      );
      return { fn, arg };
    }
    if (args.length !== 0)
      this.fail(
        t,
        field,
        by.span,
        `'by: ${fn}()' takes no arguments (filters and windows go on the ${fn === 'count' ? 'top/argmax' : 'top/argmax'} call)`,
      );
    return { fn };
  }
}

function collectRefs(ast: Ast, out: Set<string>): void {
  for (const r of refsOf(ast)) if (r.qualifier === undefined) out.add(r.name);
}

function humanize(name: string): string {
  const s = name.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * Check a project's tag definitions against its sources.
 * @example
 *   const { program, problems } = checkDefinitions(config, schemas, loadTagDefinitions(dir).definitions);
 */
export function checkDefinitions(
  config: ProjectConfig,
  schemas: SourceSchemas,
  definitions: readonly TagDefinition[],
): CheckResult {
  return new Checker(config, schemas, definitions).check(definitions);
}

/**
 * Check a segment-like expression (boolean by default) against a built program's tags and profiles.
 * @example
 *   const { expr, problems } = checkExpression(config, schemas, program, "golf_lover and spend_90d > 1000");
 */
export function checkExpression(
  config: ProjectConfig,
  schemas: SourceSchemas,
  program: TagProgram,
  text: string,
  expected: ValueType | undefined = 'boolean',
): { expr?: Expr; problems: readonly ExpressionProblem[] } {
  return new Checker(config, schemas, []).checkExpression(text, program.tags, expected);
}
