// What the route handlers (numbers.ts, accounts.ts, ...) are given and give back.

import type { Route } from "./routes";
import type { AccountRow } from "./store";
import type { StandinSettings } from "./types";

/** Basic credentials as sent. The Durable Object checks them; they are never stored or logged. */
export type Credentials = { username: string; password: string } | "none" | "malformed";

/** A Twilio request as the Worker parsed it. */
export interface TwilioCall {
  method: string;
  path: string;
  query: Record<string, string>;
  form: Record<string, string> | null;
  contentType: string | null;
  credentials: Credentials;
}

export interface TwilioReply {
  status: number;
  /** JSON body, or the page itself when `html`; null means an empty body (204). */
  body: unknown;
  headers: Record<string, string>;
  /** The body is an HTML page (a `body: "html"` fault), not JSON. */
  html?: boolean;
}

/** An authenticated request to one of its account's resources. */
export interface RequestContext {
  sql: SqlStorage;
  /** ms since the epoch, read once per request. */
  now: number;
  /** The account the request acts as (the path's in the 2010 API, the credentials' in v1). */
  account: AccountRow;
  call: TwilioCall;
  route: Route;
  /** The parsed form, or no fields. */
  form: Record<string, string>;
  settings: StandinSettings;
}

export function reply(status: number, body: unknown): TwilioReply {
  return { status, body, headers: {} };
}
