/**
 * How each file format is read by DuckDB's own readers (no JS loop over rows): the table function call,
 * the expression per planned column, the row number used for provenance and rejects, and the checks
 * that turn unreadable values into rejected rows instead of silent NULLs.
 */
import type { EventsSource, SourceConfig } from '../config/project.js';
import type { FileFormat } from '../config/schema.js';
import { ident, str, strList } from '../warehouse/sql.js';
import { sameDuckType } from '../warehouse/types.js';
import type { FileColumn, PlannedColumn } from './column-plan.js';
import type { SourceFile } from './files.js';

/** Alias of the reader in every statement built here. */
export const R = 'r';
export const CSV_REJECTS_TABLE = '_tv_reject_errors';
export const CSV_REJECTS_SCANS = '_tv_reject_scans';

export interface RowCheck {
  /** SQL condition over the reader alias that is true for an unreadable row. */
  readonly condition: string;
  /** SQL expression giving the reason text for such a row. */
  readonly reason: string;
  readonly kind: 'unreadable_value' | 'malformed_json';
  readonly column?: string;
}

export interface FileRead {
  /** FROM item: the reader call with alias `r`. */
  readonly from: string;
  /** 1-based provenance row: the physical line for CSV (header counted) and JSONL, the row for Parquet. */
  readonly rowExpr: string;
  /** Expression per planned column name. */
  readonly exprs: ReadonlyMap<string, string>;
  /** Rows to reject before inserting (value casts the reader cannot reject itself). */
  readonly checks: readonly RowCheck[];
  /** Rows to skip silently (blank JSONL lines). */
  readonly skip?: string;
  /** SQL expression of the raw content of a row, for the rejects table. */
  readonly rawExpr: string;
  /** Session time zone to set while reading (naive timestamps), if any. */
  readonly sessionTimeZone?: string;
  /** True when the reader records CSV rejects into CSV_REJECTS_TABLE. */
  readonly readerRejects: boolean;
  /** Lines before the first data row (header and skipped lines). */
  readonly headerLines: number;
}

/** Delimiter, quote, escape and null strings of a source's CSV dialect, as reader options. */
export function csvDialect(source: SourceConfig, format: FileFormat): string[] {
  const o = source.csv;
  const opts = [`delim = ${str(o.delimiter ?? (format === 'tsv' ? '\t' : ','))}`];
  if (o.quote !== undefined) opts.push(`quote = ${str(o.quote)}`);
  if (o.escape !== undefined) opts.push(`escape = ${str(o.escape)}`);
  if (o.null_values !== undefined) {
    opts.push(`nullstr = ${typeof o.null_values === 'string' ? str(o.null_values) : strList(o.null_values)}`);
  }
  return opts;
}

function csvOptions(source: SourceConfig, format: FileFormat): string[] {
  const opts = [...csvDialect(source, format), `header = ${source.csv.header ?? true}`];
  if (source.csv.skip !== undefined) opts.push(`skip = ${source.csv.skip}`);
  return opts;
}

/** The call that detects a file's columns and types (DESCRIBE over it). */
export function sniffSql(file: SourceFile, source: SourceConfig): string {
  switch (file.format) {
    case 'parquet':
      return `DESCRIBE SELECT * FROM read_parquet(${str(file.path)})`;
    case 'jsonl':
      return `DESCRIBE SELECT * FROM read_json(${str(file.path)}, format = 'newline_delimited', ignore_errors = true)`;
    case 'csv':
    case 'tsv':
      // store_rejects lets the sniffer look past malformed lines instead of giving up on the dialect.
      return `DESCRIBE SELECT * FROM read_csv(${str(file.path)}, ${csvOptions(source, file.format).join(', ')}, store_rejects = true, rejects_table = '_tv_sniff_errors', rejects_scan = '_tv_sniff_scans')`;
  }
}

/** How the event timestamp is read, given the file's own type for it. */
interface TimestampRead {
  /** Type to ask the CSV reader for. */
  readonly csvType: string;
  /** Expression turning the read value (`v`) into an instant. */
  readonly expr: (v: string) => string;
  /** Needs the session time zone set to the source's zone while reading. */
  readonly usesSession: boolean;
  readonly timestampFormat?: string;
}

function timestampRead(source: EventsSource, fileType: string, format: FileFormat): TimestampRead {
  const fmt = source.timestamp.format;
  const tz = str(source.timestamp.timezone);
  const upper = fileType.toUpperCase();
  if (fmt === 'epoch' || fmt === 'epoch_ms') {
    const div = fmt === 'epoch_ms' ? ' / 1000.0' : '';
    return {
      csvType: 'DOUBLE',
      expr: (v) => `to_timestamp(TRY_CAST(${v} AS DOUBLE)${div})`,
      usesSession: false,
    };
  }
  if (fmt !== undefined) {
    if (/%[zZ]/.test(fmt)) {
      return {
        csvType: 'VARCHAR',
        expr: (v) => `try_strptime(CAST(${v} AS VARCHAR), ${str(fmt)})`,
        usesSession: false,
      };
    }
    if (format === 'csv' || format === 'tsv') {
      return {
        csvType: 'TIMESTAMP',
        expr: (v) => `timezone(${tz}, ${v})`,
        usesSession: false,
        timestampFormat: fmt,
      };
    }
    return {
      csvType: 'VARCHAR',
      expr: (v) => `timezone(${tz}, try_strptime(CAST(${v} AS VARCHAR), ${str(fmt)}))`,
      usesSession: false,
    };
  }
  if (format === 'csv' || format === 'tsv') {
    // The CSV reader parses ISO 8601 with or without offset; naive values use the session time zone.
    return { csvType: 'TIMESTAMP WITH TIME ZONE', expr: (v) => v, usesSession: true };
  }
  if (upper === 'TIMESTAMP WITH TIME ZONE' || upper === 'TIMESTAMPTZ')
    return { csvType: upper, expr: (v) => v, usesSession: false };
  if (upper.startsWith('TIMESTAMP'))
    return { csvType: upper, expr: (v) => `timezone(${tz}, CAST(${v} AS TIMESTAMP))`, usesSession: false };
  if (upper === 'DATE')
    return { csvType: upper, expr: (v) => `timezone(${tz}, CAST(${v} AS TIMESTAMP))`, usesSession: false };
  return {
    csvType: 'VARCHAR',
    expr: (v) => `TRY_CAST(CAST(${v} AS VARCHAR) AS TIMESTAMP WITH TIME ZONE)`,
    usesSession: true,
  };
}

/** Build the read of one file into the planned columns. */
export function buildFileRead(
  file: SourceFile,
  source: SourceConfig,
  plan: readonly PlannedColumn[],
): FileRead {
  const exprs = new Map<string, string>();
  const checks: RowCheck[] = [];
  const ts = plan.find((p) => p.role === 'timestamp');
  const tsRead = ts && source.kind === 'events' ? timestampRead(source, ts.fileType, file.format) : undefined;
  const col = (p: PlannedColumn) => `${R}.${ident(p.fileColumn)}`;

  if (file.format === 'csv' || file.format === 'tsv') {
    const types = plan.map((p) => {
      const t = p.role === 'timestamp' && tsRead ? tsRead.csvType : p.tableType;
      return `${str(p.fileColumn)}: ${str(t)}`;
    });
    const opts = [
      ...csvOptions(source, file.format),
      `types = {${types.join(', ')}}`,
      'store_rejects = true',
      `rejects_table = ${str(CSV_REJECTS_TABLE)}`,
      `rejects_scan = ${str(CSV_REJECTS_SCANS)}`,
      ...(tsRead?.timestampFormat !== undefined ? [`timestampformat = ${str(tsRead.timestampFormat)}`] : []),
    ];
    for (const p of plan) exprs.set(p.name, p.role === 'timestamp' && tsRead ? tsRead.expr(col(p)) : col(p));
    const headerLines = ((source.csv.header ?? true) ? 1 : 0) + (source.csv.skip ?? 0);
    return {
      from: `read_csv(${str(file.path)}, ${opts.join(', ')}) WITH ORDINALITY AS ${R}`,
      rowExpr: `(${R}.ordinality + ${headerLines})`,
      exprs,
      checks,
      rawExpr: 'NULL',
      ...(tsRead?.usesSession && source.kind === 'events'
        ? { sessionTimeZone: source.timestamp.timezone }
        : {}),
      readerRejects: true,
      headerLines,
    };
  }

  if (file.format === 'parquet') {
    for (const p of plan) {
      if (p.role === 'timestamp' && tsRead) {
        exprs.set(p.name, tsRead.expr(col(p)));
        continue;
      }
      if (sameDuckType(p.fileType, p.tableType)) {
        exprs.set(p.name, col(p));
        continue;
      }
      const cast = `TRY_CAST(${col(p)} AS ${p.tableType})`;
      exprs.set(p.name, cast);
      checks.push({
        condition: `(${col(p)} IS NOT NULL AND ${cast} IS NULL)`,
        reason: `'column ${p.name.replace(/'/g, "''")}: cannot read ' || to_json(${col(p)}) || ' as ${p.tableType}'`,
        kind: 'unreadable_value',
        column: p.name,
      });
    }
    return {
      from: `read_parquet(${str(file.path)}, file_row_number = true) AS ${R}`,
      rowExpr: `(${R}.file_row_number + 1)`,
      exprs,
      checks,
      rawExpr: `to_json(${R})`,
      ...(tsRead?.usesSession && source.kind === 'events'
        ? { sessionTimeZone: source.timestamp.timezone }
        : {}),
      readerRejects: false,
      headerLines: 0,
    };
  }

  // JSONL: read raw lines so every line keeps its number and malformed JSON becomes a reject, not an error.
  const line = `${R}.line`;
  const valid = `json_valid(${line})`;
  checks.push({
    condition: `(${line} IS NOT NULL AND NOT ${valid})`,
    reason: `'malformed JSON'`,
    kind: 'malformed_json',
  });
  for (const p of plan) {
    const keyPath = p.fileColumn.startsWith('$') ? `$."${p.fileColumn.replace(/"/g, '\\"')}"` : p.fileColumn;
    const asText = `(CASE WHEN ${valid} THEN ${line} ->> ${str(keyPath)} END)`;
    const asJson = `(CASE WHEN ${valid} THEN ${line} -> ${str(keyPath)} END)`;
    const present = `(${asJson} IS NOT NULL AND json_type(${asJson}) <> 'NULL')`;
    if (p.role === 'timestamp' && tsRead) {
      exprs.set(p.name, tsRead.expr(asText));
      continue;
    }
    const upper = p.tableType.toUpperCase();
    const expr =
      upper === 'VARCHAR'
        ? asText
        : upper === 'JSON'
          ? asJson
          : /^(STRUCT|MAP)|\[\]$/.test(upper)
            ? `TRY_CAST(${asJson} AS ${p.tableType})`
            : `TRY_CAST(${asText} AS ${p.tableType})`;
    exprs.set(p.name, expr);
    if (upper !== 'VARCHAR' && upper !== 'JSON') {
      checks.push({
        condition: `(${present} AND ${expr} IS NULL)`,
        reason: `'column ${p.name.replace(/'/g, "''")}: cannot read ' || ${asJson} || ' as ${p.tableType}'`,
        kind: 'unreadable_value',
        column: p.name,
      });
    }
  }
  return {
    from: `read_csv(${str(file.path)}, columns = {'line': 'VARCHAR'}, header = false, delim = chr(1), quote = '', escape = '', auto_detect = false, store_rejects = true, rejects_table = ${str(CSV_REJECTS_TABLE)}, rejects_scan = ${str(CSV_REJECTS_SCANS)}) WITH ORDINALITY AS ${R}`,
    rowExpr: `${R}.ordinality`,
    exprs,
    checks,
    skip: `(${line} IS NULL OR trim(${line}) = '')`,
    rawExpr: line,
    ...(tsRead?.usesSession && source.kind === 'events'
      ? { sessionTimeZone: source.timestamp.timezone }
      : {}),
    readerRejects: true,
    headerLines: 0,
  };
}

/** Columns as DESCRIBE reports them. */
export function describeToColumns(rows: readonly Record<string, unknown>[]): FileColumn[] {
  return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
}
