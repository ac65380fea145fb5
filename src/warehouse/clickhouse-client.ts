/**
 * A minimal ClickHouse HTTP client over fetch (see docs/decisions.md: no driver dependency). It speaks
 * what ClickHouse 18.16 and modern servers both understand: the query in the POST body (or in the URL
 * for INSERT with a streamed body), settings as URL parameters, Basic auth, JSONEachRow results.
 * Every literal in a statement is inlined and escaped by the dialect (18.16 has no query parameters).
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

export interface ClickHouseConnection {
  /** HTTP endpoint of the node, e.g. http://127.0.0.1:8123/ */
  readonly url: string;
  readonly database?: string;
  readonly user?: string;
  readonly password?: string;
}

/** Settings every request carries. */
const BASE_SETTINGS: Record<string, string> = {
  // Tag plans are long statements.
  max_query_size: '104857600',
  max_ast_elements: '10000000',
  max_expanded_ast_elements: '10000000',
  // Int64 (times in µs) as JSON numbers: they stay below 2^53.
  output_format_json_quote_64bit_integers: '0',
  // An insert into a Distributed table returns once every shard has its rows.
  insert_distributed_sync: '1',
};

export class ClickHouseError extends Error {}

export class ClickHouseClient {
  constructor(readonly conn: ClickHouseConnection) {}

  private endpoint(settings: Record<string, string>, query?: string): string {
    const u = new URL(this.conn.url);
    for (const [k, v] of Object.entries({ ...BASE_SETTINGS, ...settings })) u.searchParams.set(k, v);
    if (this.conn.database !== undefined) u.searchParams.set('database', this.conn.database);
    if (query !== undefined) u.searchParams.set('query', query);
    return u.toString();
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = {};
    if (this.conn.user !== undefined || this.conn.password !== undefined) {
      const token = Buffer.from(`${this.conn.user ?? 'default'}:${this.conn.password ?? ''}`).toString(
        'base64',
      );
      h.Authorization = `Basic ${token}`;
    }
    return h;
  }

  private async send(
    url: string,
    body: NonNullable<RequestInit['body']>,
    extra: RequestInit = {},
  ): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', body, headers: this.headers(), ...extra });
    } catch (e) {
      throw new ClickHouseError(`cannot reach ClickHouse at ${this.conn.url}: ${(e as Error).message}`);
    }
    if (!res.ok) {
      const text = (await res.text()).trim();
      throw new ClickHouseError(`ClickHouse ${this.conn.url}: ${text.split('\n')[0]}`);
    }
    return res;
  }

  /** Run a statement; returns the response text. */
  async exec(sql: string, settings: Record<string, string> = {}): Promise<string> {
    return (await this.send(this.endpoint(settings), sql)).text();
  }

  /** Rows of a SELECT as objects (JSONEachRow). */
  async rows<T = Record<string, unknown>>(sql: string, settings: Record<string, string> = {}): Promise<T[]> {
    const text = await this.exec(`${sql} FORMAT JSONEachRow`, settings);
    return text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as T);
  }

  /** The raw JSONEachRow text of a SELECT (one object per line). */
  async jsonLines(sql: string, settings: Record<string, string> = {}): Promise<string> {
    return this.exec(`${sql} FORMAT JSONEachRow`, settings);
  }

  /** Insert a file of JSONEachRow lines into a table, streaming it. */
  async insertFile(table: string, file: string, settings: Record<string, string> = {}): Promise<void> {
    const body = Readable.toWeb(createReadStream(file)) as unknown as NonNullable<RequestInit['body']>;
    await this.send(this.endpoint(settings, `INSERT INTO ${table} FORMAT JSONEachRow`), body, {
      duplex: 'half',
    } as RequestInit);
  }

  /** True when the node answers its ping. */
  async ping(): Promise<boolean> {
    try {
      const res = await fetch(new URL('ping', this.conn.url));
      return res.ok;
    } catch {
      return false;
    }
  }
}
