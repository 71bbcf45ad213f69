/**
 * Pagination adapters for pulling a list endpoint page by page. An adapter turns its position (a small JSON
 * value stored in the checkpoint) into the next request, and a response into the next position. Positions
 * stay small whatever the size of the list: a cursor, a URL, a page number, an offset or one (value, key)
 * pair — never a set of keys seen.
 */

/** A position in a list: what the checkpoint stores between pages. JSON, small. */
export type PageCursor = string | number | readonly [string | number, string | number];

/** One page as the adapter sees it. */
export interface PageResponse {
  /** The URL this page was requested from. */
  url: URL;
  headers: Headers;
  body: unknown;
  /** The records of the page, as the stream extracted them from the body. */
  records: readonly unknown[];
}

export interface Pagination {
  readonly kind: string;
  /** The URL of the page at `cursor` (undefined: the first page), from the stream's first-page URL `base`. */
  request(base: URL, cursor: PageCursor | undefined): URL;
  /** The position of the page after `page`, undefined when `page` was the last one. */
  next(page: PageResponse, cursor: PageCursor | undefined): PageCursor | undefined;
  /** Records of `page` already taken from an earlier page (keyset lists that repeat their boundary). */
  seen?(record: unknown, cursor: PageCursor | undefined): boolean;
}

function field(record: unknown, name: string): unknown {
  return record !== null && typeof record === 'object' ? (record as Record<string, unknown>)[name] : undefined;
}

function at(body: unknown, path: string): unknown {
  let value: unknown = body;
  for (const part of path.split('.')) value = field(value, part);
  return value;
}

/** Where a value comes from: a dotted path in the body, or a function of the page. */
export type PageValue = string | ((page: PageResponse) => unknown);

function read(from: PageValue, page: PageResponse): unknown {
  return typeof from === 'function' ? from(page) : at(page.body, from);
}

function withParam(url: URL, name: string, value: string | number): URL {
  const out = new URL(url);
  out.searchParams.set(name, String(value));
  return out;
}

/**
 * Resolves a next link against the page it came from and refuses one leaving that page's origin (the
 * request carries the stream's headers, credentials included).
 */
function sameOriginLink(link: string, page: URL): string {
  const next = new URL(link, page);
  if (next.origin !== page.origin) throw new Error(`pagination: next link ${next.origin}${next.pathname} leaves ${page.origin}; refusing to follow it`);
  return next.href;
}

export interface CursorParamOptions {
  /** Query parameter carrying the cursor (default `cursor`). */
  param?: string;
  /** Where the next cursor is in the body (dotted path, default `next_cursor`), or a function of the page. */
  from?: PageValue;
}

/** `?cursor=<opaque>`, the next cursor read from the body; an empty or absent next cursor ends the list. */
export function cursorParam(options: CursorParamOptions = {}): Pagination {
  const param = options.param ?? 'cursor';
  const from = options.from ?? 'next_cursor';
  return {
    kind: 'cursor-param',
    request: (base, cursor) => (cursor === undefined ? new URL(base) : withParam(base, param, String(cursor))),
    next(page) {
      const value = read(from, page);
      return typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? value : undefined;
    },
  };
}

export interface NextLinkOptions {
  /** Where the next page's URL is in the body (dotted path, default `next`), or a function of the page. */
  from?: PageValue;
}

/** The URL of the next page in the body (`{ "next": "https://…?page=3" }`); null or absent ends the list. */
export function nextLink(options: NextLinkOptions = {}): Pagination {
  const from = options.from ?? 'next';
  return {
    kind: 'next-link',
    request: (base, cursor) => new URL(cursor === undefined ? base : String(cursor)),
    next(page) {
      const value = read(from, page);
      return typeof value === 'string' && value !== '' ? sameOriginLink(value, page.url) : undefined;
    },
  };
}

/** The `rel="next"` target of an RFC 8288 `Link` header value, or undefined. */
export function parseLinkNext(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const m of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(m[2] ?? '');
    const rels = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
    if (rels.includes('next')) return m[1];
  }
  return undefined;
}

/** The `Link: <…>; rel="next"` response header (GitHub's style); no next link ends the list. */
export function linkHeader(): Pagination {
  return {
    kind: 'link-header',
    request: (base, cursor) => new URL(cursor === undefined ? base : String(cursor)),
    next(page) {
      const link = parseLinkNext(page.headers.get('link'));
      return link ? sameOriginLink(link, page.url) : undefined;
    },
  };
}

export interface PageNumberOptions {
  /** Default `page`. */
  param?: string;
  /** The first page's number (default 1). */
  start?: number;
  /** Page size parameter and value; with them a short page ends the list, else an empty one does. */
  sizeParam?: string;
  size?: number;
}

/** `?page=N`: the list ends on an empty page (or a page shorter than `size`). */
export function pageNumber(options: PageNumberOptions = {}): Pagination {
  const param = options.param ?? 'page';
  const start = options.start ?? 1;
  const sized = (url: URL) => (options.sizeParam && options.size ? withParam(url, options.sizeParam, options.size) : url);
  return {
    kind: 'page-number',
    request: (base, cursor) => sized(withParam(base, param, typeof cursor === 'number' ? cursor : start)),
    next(page, cursor) {
      const n = page.records.length;
      if (n === 0 || (options.size !== undefined && n < options.size)) return undefined;
      return (typeof cursor === 'number' ? cursor : start) + 1;
    },
  };
}

export interface OffsetOptions {
  /** Default `offset`. */
  param?: string;
  /** Default `limit`. */
  limitParam?: string;
  /** Records per page (default 100); a shorter page ends the list. */
  limit?: number;
}

/** `?offset=N&limit=M`: the list ends on a page shorter than `limit`. */
export function offsetLimit(options: OffsetOptions = {}): Pagination {
  const param = options.param ?? 'offset';
  const limitParam = options.limitParam ?? 'limit';
  const limit = options.limit ?? 100;
  return {
    kind: 'offset',
    request: (base, cursor) => withParam(withParam(base, param, typeof cursor === 'number' ? cursor : 0), limitParam, limit),
    next(page, cursor) {
      const n = page.records.length;
      return n < limit ? undefined : (typeof cursor === 'number' ? cursor : 0) + n;
    },
  };
}

export interface StripeOptions {
  /** Records per page (Stripe allows 1–100; default 100). */
  limit?: number;
  /** The record field whose value `starting_after` takes (default `id`). */
  idField?: string;
}

/** Stripe's lists: `?limit=N&starting_after=<id of the last record>` while the body says `has_more`. */
export function stripe(options: StripeOptions = {}): Pagination {
  const limit = options.limit ?? 100;
  const idField = options.idField ?? 'id';
  return {
    kind: 'stripe',
    request: (base, cursor) => (cursor === undefined ? withParam(base, 'limit', limit) : withParam(withParam(base, 'limit', limit), 'starting_after', String(cursor))),
    next(page) {
      if (field(page.body, 'has_more') !== true) return undefined;
      const id = field(page.records.at(-1), idField);
      if (typeof id !== 'string' && typeof id !== 'number') throw new Error(`pagination (stripe): the last record has no ${idField} to continue after`);
      return id;
    },
  };
}

export interface KeysetOptions {
  /** Query parameter taking the value of the last record (usually the incremental one: `updated_since`). */
  valueParam: string;
  /** Query parameter taking its key, the tie-breaker (`after_id`). */
  keyParam: string;
  /** The ordering value of a record (its `updated_at`). */
  value: (record: never) => string | number;
  /** Its unique key. */
  key: (record: never) => string | number;
  /** Limit parameter and value; a page shorter than `limit` ends the list. */
  limitParam?: string;
  limit?: number;
}

function compare(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Keyset over (value, key), for APIs listed in `value, key` order that take both as the lower bound
 * (`?updated_since=T&after_id=K`). The position is the last record's pair: one pair, however many records
 * share a value (ties larger than a page go on by key). Records at or before the position are dropped, so an
 * API whose bound is inclusive (`>=`, repeating the boundary record on every page) duplicates nothing; the
 * list ends on a page that brings nothing new (or one shorter than `limit`).
 */
export function keyset(options: KeysetOptions): Pagination {
  const value = options.value as (record: unknown) => string | number;
  const key = options.key as (record: unknown) => string | number;
  const after = (record: unknown, cursor: PageCursor | undefined) => {
    if (!Array.isArray(cursor)) return true;
    const c = compare(value(record), cursor[0] as string | number);
    return c > 0 || (c === 0 && compare(key(record), cursor[1] as string | number) > 0);
  };
  return {
    kind: 'keyset',
    request(base, cursor) {
      let url = new URL(base);
      if (Array.isArray(cursor)) url = withParam(withParam(url, options.valueParam, cursor[0] as string | number), options.keyParam, cursor[1] as string | number);
      return options.limitParam && options.limit ? withParam(url, options.limitParam, options.limit) : url;
    },
    next(page, cursor) {
      const fresh = page.records.filter((r) => after(r, cursor));
      if (fresh.length === 0) return undefined;
      const last = fresh.reduce((a, b) => (after(b, [value(a), key(a)]) ? b : a));
      const position: PageCursor = [value(last), key(last)];
      if (options.limit !== undefined && page.records.length < options.limit) return undefined;
      return position;
    },
    seen: (record, cursor) => !after(record, cursor),
  };
}
