/**
 * The typed intermediate representation (IR) of tags. Produced by the checker from parsed definitions,
 * consumed by every evaluator: the SQL compilers (one per dialect), the reference evaluator, and the
 * incremental evaluator. Nodes are immutable (frozen) plain objects; switches over `kind` are
 * exhaustive, so adding a node kind forces every consumer to handle it.
 *
 * Two expression contexts share the node union:
 * - row context: one event row of a source (event columns, the entity's profile, `as_of`)
 * - entity context: one entity (aggregates, other tags, profile columns, `as_of`)
 */

/** Value types of expressions. `null` is the type of the literal `null` (fits any type). */
export type ValueType = 'boolean' | 'number' | 'string' | 'time' | 'date' | 'duration' | 'list' | 'null';

/** Tag types as users declare them. */
export type TagType = 'boolean' | 'number' | 'category' | 'list' | 'date';

export type TagName = string & { readonly __brand: 'TagName' };
export type AggId = string & { readonly __brand: 'AggId' };

/** A window relative to the as-of time T; durations are exact seconds (1d = 86,400 s). */
export type Window =
  /** (T - seconds, T] */
  | { readonly kind: 'last'; readonly seconds: number }
  /** (T - fromSeconds, T - toSeconds] */
  | { readonly kind: 'between'; readonly fromSeconds: number; readonly toSeconds: number }
  /** (-infinity, T] */
  | { readonly kind: 'ever' };

export type ArithOp = '+' | '-' | '*' | '/' | '%';
export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type LogicOp = 'and' | 'or';

export type Expr =
  | { readonly kind: 'literal'; readonly type: ValueType; readonly value: boolean | number | string | null }
  /** An event column of `source` (row context). */
  | { readonly kind: 'column'; readonly source: string; readonly column: string; readonly type: ValueType }
  /** A column of a profile source, for the entity at hand (both contexts). */
  | { readonly kind: 'profile'; readonly source: string; readonly column: string; readonly type: ValueType }
  /** Another tag's value (entity context). */
  | { readonly kind: 'tag'; readonly name: TagName; readonly type: ValueType }
  /** An aggregate's value for the entity (entity context); `field` picks one output of a multi-output aggregate. */
  | { readonly kind: 'agg'; readonly id: AggId; readonly field?: string; readonly type: ValueType }
  /** The as-of time of the build. */
  | { readonly kind: 'as_of'; readonly type: 'time' }
  | { readonly kind: 'neg'; readonly arg: Expr; readonly type: 'number' }
  | { readonly kind: 'not'; readonly arg: Expr; readonly type: 'boolean' }
  | {
      readonly kind: 'arith';
      readonly op: ArithOp;
      readonly left: Expr;
      readonly right: Expr;
      readonly type: ValueType;
    }
  | {
      readonly kind: 'compare';
      readonly op: CompareOp;
      readonly left: Expr;
      readonly right: Expr;
      readonly type: 'boolean';
    }
  | {
      readonly kind: 'logic';
      readonly op: LogicOp;
      readonly left: Expr;
      readonly right: Expr;
      readonly type: 'boolean';
    }
  | {
      readonly kind: 'in';
      readonly arg: Expr;
      readonly list: readonly Expr[];
      readonly negated: boolean;
      readonly type: 'boolean';
    }
  | { readonly kind: 'is_null'; readonly arg: Expr; readonly negated: boolean; readonly type: 'boolean' }
  | {
      readonly kind: 'case';
      readonly whens: readonly { readonly when: Expr; readonly result: Expr }[];
      readonly else: Expr;
      readonly type: ValueType;
    }
  /** A scalar function from the registry (functions.ts). */
  | { readonly kind: 'call'; readonly fn: string; readonly args: readonly Expr[]; readonly type: ValueType };

export type AggFn =
  | 'count'
  | 'sum'
  | 'avg'
  | 'min'
  | 'max'
  | 'distinct_count'
  | 'share'
  | 'first'
  | 'last'
  | 'first_time'
  | 'last_time'
  | 'stddev'
  | 'top'
  | 'argmax'
  | 'affinity'
  | 'recurrence'
  | 'shift';

/** Parameters of an affinity aggregate (see docs/language.md, "Affinity"). */
export interface AffinityParams {
  readonly measure: RankMeasure;
  readonly k: number;
  readonly minSupport: number;
  readonly prior: number;
  readonly minScore: number;
}

/** Parameters of a recurrence aggregate (see docs/language.md, "Recurrence"). */
export interface RecurrenceParams {
  readonly minEvents: number;
  readonly maxCv: number;
}

/** Parameters of a shift aggregate (see docs/language.md, "Shift"). */
export interface ShiftParams {
  readonly baseline: Window;
  readonly detection: Window;
  readonly minShare: number;
  readonly minEvents: number;
}

/** Outputs of the multi-output aggregates, with their types. */
export const RECURRENCE_FIELDS = {
  regular: 'boolean',
  period_days: 'number',
  cv: 'number',
  cycles: 'number',
  last: 'time',
  next_due: 'time',
  overdue: 'boolean',
  /** With a dimension: which value (e.g. merchant) the cycle is at. */
  value: 'string',
} as const satisfies Record<string, ValueType>;
export const SHIFT_FIELDS = {
  changed: 'boolean',
  from: 'string',
  to: 'string',
  since: 'time',
  confidence: 'number',
} as const satisfies Record<string, ValueType>;

/** How a `top`/`argmax` ranks values of its dimension. */
export interface RankMeasure {
  readonly fn: 'count' | 'sum' | 'distinct_days';
  readonly arg?: Expr;
}

/**
 * One aggregate over the events of a source for each entity: rows of `source` with ts <= T inside
 * `window` where `filter` is true. `id` is a structural key: equal aggregates share one computation.
 */
export interface Aggregate {
  readonly id: AggId;
  readonly source: string;
  readonly fn: AggFn;
  /** The value aggregated (row context); absent for count() and the *_time functions. */
  readonly arg?: Expr;
  /** Rows that count (row context, boolean); absent = all rows of the window. */
  readonly filter?: Expr;
  readonly window: Window;
  /** top: how many values to keep. */
  readonly k?: number;
  /** top/argmax: ranking measure (default count). */
  readonly by?: RankMeasure;
  readonly affinity?: AffinityParams;
  readonly recurrence?: RecurrenceParams;
  readonly shift?: ShiftParams;
  readonly type: ValueType;
}

export type TagKind = 'aggregate' | 'derived' | 'affinity' | 'recurrence' | 'onset' | 'shift';
/**
 * The kind of a tag in a program: a kind written in tag files, or 'model' for a trained model's
 * score and decile (added by src/models/model-tags.ts; the checker never produces it).
 */
export type TagIRKind = TagKind | 'model';
export type TagStatus = 'draft' | 'approved' | 'deprecated';

export interface TagIR {
  readonly name: TagName;
  readonly title: string;
  readonly description: string;
  readonly category: string;
  readonly owner: string;
  readonly status: TagStatus;
  readonly type: TagType;
  readonly kind: TagIRKind;
  /** The events source of an aggregate tag. */
  readonly source?: string;
  /** Aggregates the value reads (entity context `agg` nodes point here). */
  readonly aggregates: readonly Aggregate[];
  /** The tag's value (entity context). */
  readonly value: Expr;
  /** Tags this tag reads, directly. */
  readonly dependsOn: readonly TagName[];
  /** For the extra outputs of a tag kind (a cycle's next due date...): the tag they belong to. */
  readonly companionOf?: TagName;
  /** Kind 'model': which trained model and which of its outputs; build fills the value by scoring. */
  readonly model?: { readonly name: string; readonly output: 'score' | 'decile' };
  /** Where it was defined, for messages. */
  readonly file: string;
  readonly line: number;
  /** The definition as written (for catalogs and explain). */
  readonly definition: Readonly<Record<string, unknown>>;
}

/** A checked set of tags in dependency order (every tag after the tags it reads). */
export interface TagProgram {
  readonly tags: readonly TagIR[];
  /** Project time zone for calendar functions. */
  readonly timezone: string;
  /** Entity key column per source (events and profile). */
  readonly entityKeys: Readonly<Record<string, string>>;
  /** Event time column per events source. */
  readonly timeColumns: Readonly<Record<string, string>>;
  /** Profile sources in the project. */
  readonly profiles: readonly string[];
  /** Events sources in the project. */
  readonly eventSources: readonly string[];
}

/** Deep-freeze a value so IR nodes cannot be changed after construction. */
export function freeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value as Record<string, unknown>)) freeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The value type a tag type carries. */
export function valueTypeOfTag(t: TagType): ValueType {
  switch (t) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return 'number';
    case 'category':
      return 'string';
    case 'list':
      return 'list';
    case 'date':
      return 'time';
  }
}

/** The tag type that a value type is declared as (for messages and inference). */
export function tagTypeOfValue(v: ValueType): TagType | undefined {
  switch (v) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return 'number';
    case 'string':
      return 'category';
    case 'list':
      return 'list';
    case 'time':
    case 'date':
      return 'date';
    case 'duration':
    case 'null':
      return undefined;
  }
}

/** Call `fn` on `e` and every expression below it (pre-order). */
export function forEachNode(e: Expr | undefined, fn: (x: Expr) => void): void {
  if (!e) return;
  fn(e);
  switch (e.kind) {
    case 'neg':
    case 'not':
    case 'is_null':
      forEachNode(e.arg, fn);
      return;
    case 'arith':
    case 'compare':
    case 'logic':
      forEachNode(e.left, fn);
      forEachNode(e.right, fn);
      return;
    case 'in':
      forEachNode(e.arg, fn);
      for (const x of e.list) forEachNode(x, fn);
      return;
    case 'case':
      for (const w of e.whens) {
        forEachNode(w.when, fn);
        forEachNode(w.result, fn);
      }
      forEachNode(e.else, fn);
      return;
    case 'call':
      for (const a of e.args) forEachNode(a, fn);
      return;
    case 'literal':
    case 'column':
    case 'profile':
    case 'tag':
    case 'agg':
    case 'as_of':
      return;
  }
}
