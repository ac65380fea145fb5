/**
 * The project file of a generated world: `packs/card/tagverse.yaml`, copied as-is for Parquet; for
 * CSV the file globs point at `.csv` and MCC columns are declared text (CSV would read '0742' as 742).
 * The yaml Document API keeps the pack's comments.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Document, isScalar, isSeq, parseDocument } from 'yaml';

const PACK = path.join('packs', 'card', 'tagverse.yaml');

/** Walks up from this module (src/generate under tsx, dist/generate when built) to the package root. */
export function packFile(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, PACK);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find ${PACK} above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

function toCsv(doc: Document, source: string): void {
  const files = doc.getIn(['sources', source, 'files'], true);
  if (isScalar(files) && typeof files.value === 'string') {
    files.value = files.value.replace(/\.parquet$/, '.csv');
  } else if (isSeq(files)) {
    for (const item of files.items) {
      if (isScalar(item) && typeof item.value === 'string')
        item.value = item.value.replace(/\.parquet$/, '.csv');
    }
  }
}

function declareText(doc: Document, source: string, column: string): void {
  if (doc.hasIn(['sources', source, 'columns', column])) return;
  const node = doc.createNode({ type: 'string' });
  node.flow = true;
  if (!doc.hasIn(['sources', source, 'columns']))
    doc.setIn(['sources', source, 'columns'], doc.createNode({}));
  doc.setIn(['sources', source, 'columns', column], node);
}

/** The text of tagverse.yaml for a world written in `format`. */
export function projectYaml(format: 'parquet' | 'csv'): string {
  const text = readFileSync(packFile(), 'utf8');
  if (format === 'parquet') return text;
  const doc = parseDocument(text);
  const sources = doc.get('sources');
  if (sources && typeof sources === 'object' && 'items' in sources) {
    for (const pair of (sources as { items: { key: unknown }[] }).items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      toCsv(doc, key);
    }
  }
  declareText(doc, 'transactions', 'mcc');
  declareText(doc, 'merchants', 'mcc');
  return doc.toString({ lineWidth: 0 });
}
