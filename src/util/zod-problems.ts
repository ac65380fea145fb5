/**
 * Turn zod validation issues into positioned, human problems:
 * `tagverse.yaml:7:5: unknown key 'entity_kye' (did you mean 'entity_key'?)`.
 */
import type { z } from 'zod';
import { didYouMeanSuffix } from './did-you-mean.js';
import type { Problem } from './problems.js';
import type { YamlFile, YamlPath } from './yaml-locator.js';

type AnySchema = z.core.$ZodType;
interface Def {
  type: string;
  shape?: Record<string, AnySchema>;
  valueType?: AnySchema;
  element?: AnySchema;
  innerType?: AnySchema;
  options?: AnySchema[];
  in?: AnySchema;
  discriminator?: string;
}
const defOf = (s: AnySchema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The object keys the schema allows at `path`, given the data (to pick the right union member). */
export function allowedKeysAt(schema: AnySchema, data: unknown, path: YamlPath): string[] {
  const target = schemaAt(schema, data, path);
  return target ? Object.keys(defOf(target).shape ?? {}) : [];
}

function unwrap(schema: AnySchema, data: unknown): AnySchema {
  let s = schema;
  for (let guard = 0; guard < 20; guard++) {
    const d = defOf(s);
    if ((d.type === 'optional' || d.type === 'default' || d.type === 'nullable') && d.innerType)
      s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else if (d.type === 'union' && d.options) {
      const objects = d.options.filter((o) => defOf(unwrap(o, data)).type === 'object');
      const disc = d.discriminator;
      const picked =
        (disc !== undefined && isRecord(data)
          ? objects.find((o) => {
              const shape = defOf(unwrap(o, data)).shape ?? {};
              const lit = shape[disc]
                ? (defOf(shape[disc]) as unknown as { values?: unknown[] }).values
                : undefined;
              return lit?.includes(data[disc]) ?? false;
            })
          : undefined) ?? (objects.length === 1 ? objects[0] : undefined);
      if (!picked) return s;
      s = picked;
    } else return s;
  }
  return s;
}

function schemaAt(schema: AnySchema, data: unknown, path: YamlPath): AnySchema | undefined {
  let s = unwrap(schema, data);
  let d: unknown = data;
  for (const seg of path) {
    const def = defOf(s);
    const next: unknown =
      isRecord(d) || Array.isArray(d) ? (d as Record<string, unknown>)[seg as string] : undefined;
    if (def.type === 'object' && def.shape) {
      const child = def.shape[String(seg)];
      if (!child) return undefined;
      s = unwrap(child, next);
    } else if (def.type === 'record' && def.valueType) s = unwrap(def.valueType, next);
    else if (def.type === 'array' && def.element) s = unwrap(def.element, next);
    else return undefined;
    d = next;
  }
  return s;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function valueAt(data: unknown, path: YamlPath): unknown {
  let d: unknown = data;
  for (const seg of path) {
    if (!isRecord(d) && !Array.isArray(d)) return undefined;
    d = (d as Record<string, unknown>)[seg as string];
  }
  return d;
}

const fieldName = (path: YamlPath) =>
  path.length === 0 ? 'the file' : `'${path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.')}'`;

/** One problem per zod issue, positioned in the YAML file. */
export function zodIssuesToProblems(
  issues: readonly z.core.$ZodIssue[],
  file: YamlFile,
  schema: AnySchema,
  data: unknown,
): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = allowedKeysAt(schema, data, path);
        for (const key of issue.keys) {
          const hint = didYouMeanSuffix(key, allowed);
          const known = hint === '' && allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : '';
          out.push(file.problem([...path, key], `unknown key '${key}'${hint}${known}`, { key: true }));
        }
        break;
      }
      case 'invalid_type': {
        const actual = valueAt(data, path);
        if (actual === undefined) {
          const parent = path.slice(0, -1);
          const key = path[path.length - 1];
          const where = parent.length > 0 ? `${fieldName(parent)}: ` : '';
          out.push(file.problem(parent, `${where}missing required key '${String(key)}'`, { key: true }));
        } else {
          out.push(
            file.problem(path, `${fieldName(path)} must be ${expected(issue)}, got ${describeValue(actual)}`),
          );
        }
        break;
      }
      case 'invalid_value': {
        const actual = valueAt(data, path);
        const values = issue.values.map((v) => JSON.stringify(v));
        const hint =
          typeof actual === 'string'
            ? didYouMeanSuffix(actual, issue.values.map(String)).replace(/^ /, ' ')
            : '';
        const shown = actual === undefined ? `missing required key '${String(path.at(-1))}'` : undefined;
        out.push(
          shown
            ? file.problem(path.slice(0, -1), shown, { key: true })
            : file.problem(
                path,
                `${fieldName(path)} must be ${values.length === 1 ? values[0] : `one of ${values.join(', ')}`}, got ${describeValue(actual)}${hint}`,
              ),
        );
        break;
      }
      case 'invalid_union': {
        const u = issue as unknown as { discriminator?: string; options?: unknown[] };
        const actual = valueAt(data, path);
        if (u.discriminator !== undefined && u.options) {
          const values = u.options.map(String);
          if (actual === undefined) {
            const parent = path.slice(0, -1);
            out.push(
              file.problem(parent, `${fieldName(parent)}: missing required key '${u.discriminator}'`, {
                key: true,
              }),
            );
          } else {
            const hint = typeof actual === 'string' ? didYouMeanSuffix(actual, values) : '';
            const list = values.map((v) => `'${v}'`).join(', ');
            out.push(
              file.problem(
                path,
                `${fieldName(path)} must be one of ${list}, got ${describeValue(actual)}${hint}`,
              ),
            );
          }
        } else {
          out.push(file.problem(path, `${fieldName(path)}: ${issue.message}, got ${describeValue(actual)}`));
        }
        break;
      }
      default: {
        const actual = valueAt(data, path);
        const got = issue.code === 'custom' && actual !== undefined ? `, got ${describeValue(actual)}` : '';
        out.push(
          file.problem(path, `${fieldName(path)}: ${issue.message}${got}`, {
            key: issue.code === 'invalid_key',
          }),
        );
      }
    }
  }
  return out;
}

function expected(issue: z.core.$ZodIssueInvalidType): string {
  switch (issue.expected) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'string':
      return 'text';
    default:
      return `a ${issue.expected}`;
  }
}
