/**
 * Where the package's own files are: industry packs (`packs/<name>/`), the JSON Schema, and the
 * shared real datasets used by the grocery/telco/bank packs. Works from `src/` (tsx) and `dist/`.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest ancestor of this module holding `packs/` and `package.json`. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'packs')) && existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the tagverse package root (packs/ folder missing)');
}

export function packsDir(): string {
  return path.join(packageRoot(), 'packs');
}

/** Names of the packs shipped with the package. */
export function packNames(): string[] {
  return readdirSync(packsDir(), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(packsDir(), d.name, 'tagverse.yaml')))
    .map((d) => d.name)
    .sort();
}

export function packDir(name: string): string {
  return path.join(packsDir(), name);
}

export function jsonSchemaPath(): string {
  return path.join(packageRoot(), 'schema', 'tagverse.schema.json');
}

/**
 * The folder with the real public datasets (The Complete Journey, Telco churn, BankChurners):
 * `TAGVERSE_DATASETS` if set, else `../shared/datasets` next to the package. Undefined when absent.
 */
export function datasetsDir(): string | undefined {
  const env = process.env.TAGVERSE_DATASETS;
  if (env) return existsSync(env) ? path.resolve(env) : undefined;
  const guess = path.resolve(packageRoot(), '..', 'shared', 'datasets');
  return existsSync(guess) ? guess : undefined;
}
