/**
 * The online tag store: every entity's latest tag values (and profile attributes) in typed columns
 * indexed by a dense ordinal, with bitmap indexes for segments. A reload builds a whole new store and
 * swaps one reference (store-holder.ts), so a reader holding a store never sees half a build. Real
 * time changes a store in place between requests (live.ts): values, indexes and new entities.
 */
import { createHash } from 'node:crypto';
import type { TagCoverage } from '../engine/build.js';
import type { TagProgram, TagType, ValueType } from '../lang/ir.js';
import type { ColumnValueType, SourceSchema, SourceSchemas } from '../lang/schemas.js';
import { TagverseError } from '../util/problems.js';
import { type Bitmap, fullBitmap } from './bitmap.js';
import type { Column } from './columns.js';
import { JsonBytes, TagJson, utf8 } from './json-bytes.js';
import { ProfileRows, type RowSlot, rowJsonValue } from './rows.js';

/** What a store was loaded from and when. */
export interface StoreInfo {
  readonly project: string;
  readonly entityName: string;
  /** The latest build in the warehouse when the store was loaded (0: none recorded). */
  readonly buildId: number;
  /** As-of time of that build (epoch microseconds), the `as_of` of segment expressions. */
  readonly asOfMicros: number;
  readonly loadedFrom: 'warehouse' | 'snapshot';
  readonly loadedAt: string;
  readonly loadMs: number;
}

/** Catalog facts about a tag, from its checked definition. */
export interface TagMeta {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly category: string;
  readonly owner: string;
  readonly status: string;
  readonly type: TagType;
  readonly kind: string;
  readonly dependsOn: readonly string[];
  readonly definition: Readonly<Record<string, unknown>>;
  /** A short hash of the definition: changes whenever the definition does. */
  readonly version: string;
}

/** Serializable form of SourceSchemas (a snapshot carries it, so a restart needs no warehouse). */
export interface SchemaJson {
  readonly name: string;
  readonly kind: SourceSchema['kind'];
  readonly columns: readonly (readonly [string, ColumnValueType])[];
  readonly entityKey?: string;
  readonly timeColumn?: string;
}

export function schemasToJson(s: SourceSchemas): SchemaJson[] {
  return [...s.values()].map((x) => ({ ...x, columns: [...x.columns.entries()] }));
}

export function schemasFromJson(s: readonly SchemaJson[]): SourceSchemas {
  return new Map(s.map((x) => [x.name, { ...x, columns: new Map(x.columns) }]));
}

export interface ProfileValue {
  readonly name: string;
  readonly title: string;
  readonly type: string;
  readonly value: unknown;
}

/** An entity's tags grouped by category: the same shape as `tagverse profile --json`. */
export interface StoreProfile {
  readonly entityId: string;
  readonly asOf: string;
  readonly source: 'current' | 'history';
  readonly buildId: number;
  readonly categories: Readonly<Record<string, readonly ProfileValue[]>>;
}

export interface ProfileSelection {
  /** Only these tags (unknown names are an error). */
  readonly tags?: readonly string[];
  /** Only tags of this category. */
  readonly category?: string;
}

interface ProfileField {
  readonly name: string;
  readonly title: string;
  readonly type: string;
  readonly category: string;
  readonly col: Column;
  /** Where the profile records keep the tag's value. */
  readonly slot: RowSlot;
  /** Writes the tag's item of profileBytes. */
  readonly json: TagJson;
}

interface CategoryFields {
  readonly category: string;
  /** `"category":[` in UTF-8 */
  readonly key: Buffer;
  readonly fields: readonly ProfileField[];
}

export interface StoreParts {
  readonly ids: readonly string[];
  readonly tags: ReadonlyMap<string, Column>;
  /** Profile attributes by `source.column`. */
  readonly profiles: ReadonlyMap<string, Column>;
  readonly program: TagProgram;
  readonly schemas: SourceSchemas;
  readonly categories: readonly string[];
  readonly coverage: readonly TagCoverage[];
  readonly info: StoreInfo;
}

/** Where profile JSON is written (one output for every store: writing is synchronous). */
const out = new JsonBytes();
const ENTITY_ID = utf8('{"entityId":');
const AS_OF = utf8(',"asOf":');

/**
 * Profile bytes (TagStore.profileBytes) that are no longer referenced, e.g. written to a socket that
 * took them all: their place in the shared output is reused.
 */
export function releaseProfileBytes(bytes: Uint8Array): void {
  out.release(bytes);
}

export function tagVersion(definition: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(JSON.stringify(definition)).digest('hex').slice(0, 12);
}

export class TagStore {
  /** Entity ids by ordinal. Real time appends entities it sees first (see live.ts); ordinals never move. */
  readonly ids: readonly string[];
  readonly tags: ReadonlyMap<string, Column>;
  readonly profiles: ReadonlyMap<string, Column>;
  readonly program: TagProgram;
  readonly schemas: SourceSchemas;
  readonly categories: readonly string[];
  readonly coverage: readonly TagCoverage[];
  readonly info: StoreInfo;
  /** Every entity: the universe segments complement against (replaced, never mutated, when entities are added). */
  readonly all: Bitmap;
  /**
   * As-of time (epoch µs) of each entity's values when real time evaluated it after the build; NaN
   * (or absent) means the build's as-of time.
   */
  entityAsOf: Float64Array | undefined;
  /** Changes applied in place since the store was built (live.ts). */
  revision = 0;
  readonly meta: ReadonlyMap<string, TagMeta>;
  private readonly ordinals: Map<string, number>;
  private readonly asOfIso: string;
  /** The build's as-of time as a JSON string, and the profile fields after it, up to the categories. */
  private readonly asOfJson: Buffer;
  private readonly sourceJson: Buffer;
  /** Tags in catalog order with what a profile prints, resolved once (profile lookups are hot). */
  private readonly fields: readonly ProfileField[];
  private readonly fieldOf: ReadonlyMap<string, ProfileField>;
  /** The store's categories in order with their tags in catalog order (a category may have none). */
  private readonly groups: readonly CategoryFields[];
  /**
   * Every profile tag's value of an entity side by side (rows.ts): what profiles are read from. live.ts
   * keeps them in step with the columns.
   */
  readonly rows: ProfileRows;

  constructor(parts: StoreParts) {
    this.ids = parts.ids;
    this.tags = parts.tags;
    this.profiles = parts.profiles;
    this.program = parts.program;
    this.schemas = parts.schemas;
    this.categories = parts.categories;
    this.coverage = parts.coverage;
    this.info = parts.info;
    this.all = fullBitmap(parts.ids.length);
    this.ordinals = new Map();
    for (let i = 0; i < parts.ids.length; i++) this.ordinals.set(parts.ids[i]!, i);
    this.meta = new Map(
      parts.program.tags.map((t) => [
        t.name as string,
        {
          name: t.name,
          title: t.title,
          description: t.description,
          category: t.category,
          owner: t.owner,
          status: t.status,
          type: t.type,
          kind: t.kind,
          dependsOn: [...t.dependsOn],
          definition: t.definition,
          version: tagVersion(t.definition),
        },
      ]),
    );
    this.asOfIso = new Date(Math.floor(parts.info.asOfMicros / 1000)).toISOString();
    this.asOfJson = utf8(JSON.stringify(this.asOfIso));
    this.sourceJson = utf8(
      `,"source":"current","buildId":${JSON.stringify(parts.info.buildId)},"categories":{`,
    );
    const profileColumns = parts.program.tags.flatMap((t) => parts.tags.get(t.name) ?? []);
    this.rows = new ProfileRows(profileColumns, parts.ids.length);
    this.fields = parts.program.tags.flatMap((t) => {
      const col = parts.tags.get(t.name);
      if (!col) return [];
      const slot = this.rows.slotOf(col)!;
      const head = `{"name":${JSON.stringify(t.name)},"title":${JSON.stringify(t.title)},"type":${JSON.stringify(t.type)},"value":`;
      return [
        {
          name: t.name,
          title: t.title,
          type: t.type,
          category: t.category,
          col,
          slot,
          json: new TagJson(head, col, slot),
        },
      ];
    });
    this.fieldOf = new Map(this.fields.map((f) => [f.name, f]));
    // The store's categories, then any other category a tag names (as profile() groups them).
    const order = [...new Set([...parts.categories, ...this.fields.map((f) => f.category)])];
    this.groups = order.map((category) => {
      const fields = this.fields.filter((f) => f.category === category);
      return {
        category,
        key: utf8(`${JSON.stringify(category)}:[`),
        fields,
      };
    });
  }

  get size(): number {
    return this.ids.length;
  }

  ordinal(id: string): number | undefined {
    return this.ordinals.get(id);
  }

  /** The value type of a tag as expressions see it. */
  tagValueType(name: string): ValueType | undefined {
    return this.tags.get(name)?.valueType;
  }

  /**
   * An entity's current tag values, grouped by category in catalog order.
   * @example
   *   const p = store.profile('C0000042', { category: 'preference' });
   */
  profile(id: string, sel: ProfileSelection = {}): StoreProfile {
    const ord = this.ordinals.get(id);
    if (ord === undefined) {
      throw new TagverseError(
        'profile.unknown_entity',
        `no ${this.info.entityName} '${id}' in the served tags`,
      );
    }
    const r = this.rows.seek(ord);
    this.rows.touch(r);
    const categories: Record<string, ProfileValue[]> = {};
    const asOf = this.asOfText(ord);
    const add = (f: ProfileField) => {
      let list = categories[f.category];
      if (list === undefined) {
        list = [];
        categories[f.category] = list;
      }
      list.push({ name: f.name, title: f.title, type: f.type, value: rowJsonValue(f.slot, r) });
    };
    if (sel.tags) {
      for (const name of sel.tags) {
        const f = this.fieldOf.get(name);
        if (!f) throw new TagverseError('profile.unknown_tag', `unknown tag '${name}'`);
        add(f);
      }
    } else if (sel.category === undefined) {
      // The whole profile: the categories laid out once per store (see groups), empty ones included.
      for (const g of this.groups) {
        const fields = g.fields;
        const list: ProfileValue[] = new Array(fields.length);
        for (let i = 0; i < fields.length; i++) {
          const f = fields[i]!;
          list[i] = { name: f.name, title: f.title, type: f.type, value: rowJsonValue(f.slot, r) };
        }
        categories[g.category] = list;
      }
    } else {
      if (!this.categories.includes(sel.category)) {
        throw new TagverseError(
          'profile.unknown_category',
          `unknown category '${sel.category}' (categories: ${this.categories.join(', ')})`,
        );
      } else categories[sel.category] = [];
      for (const f of this.fields) if (f.category === sel.category) add(f);
    }
    return { entityId: id, asOf, source: 'current', buildId: this.info.buildId, categories };
  }

  /** ISO as-of time of an entity's values: its real-time evaluation, else the build's. */
  private asOfText(ordinal: number): string {
    const t = this.entityAsOf?.[ordinal];
    return t === undefined || Number.isNaN(t) ? this.asOfIso : new Date(Math.floor(t / 1000)).toISOString();
  }

  /**
   * The same profile as `profile()`, as UTF-8 JSON bytes written straight from the columns (no objects
   * per tag, no strings to measure and encode): what the HTTP API sends. The bytes are those of
   * `JSON.stringify(store.profile(id, sel))`. They are a view of a shared slab (json-bytes.ts): send or
   * copy them, do not change them.
   */
  profileBytes(id: string, sel: ProfileSelection = {}): Buffer {
    const o = this.ordinals.get(id);
    if (o === undefined) return this.fail(id, sel);
    let groups: readonly CategoryFields[];
    if (sel.tags) groups = this.selectedGroups(id, sel, sel.tags);
    else if (sel.category === undefined) groups = this.groups;
    else {
      const g = this.groups.find((x) => x.category === sel.category);
      if (!g || !this.categories.includes(sel.category)) return this.fail(id, sel);
      groups = [g];
    }
    const r = this.rows.seek(o);
    this.rows.touch(r);
    out.begin();
    out.raw(ENTITY_ID);
    out.string(id);
    out.raw(AS_OF);
    const t = this.entityAsOf?.[o];
    if (t === undefined || Number.isNaN(t)) out.raw(this.asOfJson);
    else out.isoTime(t);
    out.raw(this.sourceJson);
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i > 0) out.byte(44); // ,
      out.raw(g.key);
      const fields = g.fields;
      for (let j = 0; j < fields.length; j++) fields[j]!.json.write(out, r, j > 0);
      out.byte(93); // ]
    }
    out.byte(125);
    out.byte(125);
    return out.end();
  }

  /** `profileBytes` as a string. */
  profileJson(id: string, sel: ProfileSelection = {}): string {
    return this.profileBytes(id, sel).toString('utf8');
  }

  /** The requested tags grouped as `profile()` groups them: categories in the order their first tag is named. */
  private selectedGroups(id: string, sel: ProfileSelection, tags: readonly string[]): CategoryFields[] {
    const byCategory = new Map<string, ProfileField[]>();
    for (const name of tags) {
      const f = this.fieldOf.get(name);
      if (!f) return this.fail(id, sel);
      const list = byCategory.get(f.category);
      if (list) list.push(f);
      else byCategory.set(f.category, [f]);
    }
    return [...byCategory].map(([category, fields]) => ({
      category,
      key: this.groups.find((g) => g.category === category)!.key,
      fields,
    }));
  }

  /** Throws what `profile()` throws for the same request (unknown entity, tag or category). */
  private fail(id: string, sel: ProfileSelection): never {
    this.profile(id, sel);
    throw new Error(`profileJson: no error for '${id}'`);
  }
}
