// Twilio's two paging styles over rows kept in creation order: the 2010 API's envelope (relative
// `*_page_uri` fields beside the items) and the v1 APIs' `meta` object (absolute `*_url` fields).
// Both take PageSize (default 50, max 1000), Page and PageToken: "PA<seq>" continues after a row,
// "PB<seq>" goes back before one, so paging stays stable while rows come and go between pages.

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;

export interface PagedRow<T> {
  seq: number;
  item: T;
}

export function pageSizeFrom(query: Record<string, string>): number {
  const requested = Number.parseInt(query.PageSize ?? "", 10);
  if (!Number.isFinite(requested) || requested < 1) return DEFAULT_PAGE_SIZE;
  return Math.min(requested, MAX_PAGE_SIZE);
}

export function withQuery(path: string, params: [string, string][]): string {
  return params.length === 0 ? path : `${path}?${new URLSearchParams(params).toString()}`;
}

interface Page<T> {
  page: number;
  pageSize: number;
  items: T[];
  nextToken: string | null;
  previousToken: string | null;
}

function selectPage<T>(rows: PagedRow<T>[], query: Record<string, string>): Page<T> {
  const pageSize = pageSizeFrom(query);
  const requestedPage = Number.parseInt(query.Page ?? "0", 10);
  const page = Number.isFinite(requestedPage) && requestedPage >= 0 ? requestedPage : 0;
  let pageRows: PagedRow<T>[];
  const token = /^P([AB])(\d+)$/.exec(query.PageToken ?? "");
  if (token?.[1] === "A") {
    const after = Number(token[2]);
    pageRows = rows.filter((row) => row.seq > after).slice(0, pageSize);
  } else if (token?.[1] === "B") {
    const before = Number(token[2]);
    pageRows = rows.filter((row) => row.seq < before).slice(-pageSize);
  } else {
    pageRows = rows.slice(page * pageSize, page * pageSize + pageSize);
  }
  const first = pageRows[0];
  const last = pageRows[pageRows.length - 1];
  const hasNext = last !== undefined && rows.some((row) => row.seq > last.seq);
  const hasPrevious = page > 0 && first !== undefined && rows.some((row) => row.seq < first.seq);
  return {
    page,
    pageSize,
    items: pageRows.map((row) => row.item),
    nextToken: hasNext && last ? `PA${last.seq}` : null,
    previousToken: hasPrevious && first ? `PB${first.seq}` : null,
  };
}

function pageParams(
  filters: [string, string][],
  pageSize: number,
  page: number,
  token?: string | null,
): [string, string][] {
  return [
    ...filters,
    ["PageSize", String(pageSize)],
    ["Page", String(page)],
    ...(token ? ([["PageToken", token]] as [string, string][]) : []),
  ];
}

/**
 * A 2010-04-01 list page: `{[key]: items, page, page_size, start, end, first_page_uri,
 * next_page_uri, previous_page_uri, uri}`. `filters` are echoed into every paging URI so
 * following next_page_uri keeps them.
 */
export function page2010<T>(
  rows: PagedRow<T>[],
  path: string,
  query: Record<string, string>,
  filters: [string, string][],
  key: string,
): Record<string, unknown> {
  const selected = selectPage(rows, query);
  const { page, pageSize, items } = selected;
  const uri = (pageNumber: number, token?: string | null) =>
    withQuery(path, pageParams(filters, pageSize, pageNumber, token));
  const start = page * pageSize;
  return {
    [key]: items,
    page,
    page_size: pageSize,
    start,
    end: items.length > 0 ? start + items.length - 1 : start,
    first_page_uri: uri(0),
    next_page_uri: selected.nextToken ? uri(page + 1, selected.nextToken) : null,
    previous_page_uri: selected.previousToken ? uri(page - 1, selected.previousToken) : null,
    uri: uri(page, query.PageToken),
  };
}

/** A v1 list page: `{[key]: items, meta: {page, page_size, first_page_url, ..., key}}`. */
export function pageV1<T>(
  rows: PagedRow<T>[],
  origin: string,
  path: string,
  query: Record<string, string>,
  key: string,
): Record<string, unknown> {
  const selected = selectPage(rows, query);
  const { page, pageSize, items } = selected;
  const url = (pageNumber: number, token?: string | null) =>
    `${origin}${withQuery(path, pageParams([], pageSize, pageNumber, token))}`;
  return {
    [key]: items,
    meta: {
      page,
      page_size: pageSize,
      first_page_url: url(0),
      previous_page_url: selected.previousToken ? url(page - 1, selected.previousToken) : null,
      url: url(page, query.PageToken),
      next_page_url: selected.nextToken ? url(page + 1, selected.nextToken) : null,
      key,
    },
  };
}
