// Which Twilio resource a path names, and which operation each HTTP method performs on it.
// api.twilio.com (2010-04-01) names the account in the path. Routing is by path only, whatever
// the host.

import { API_VERSION_PREFIX } from "./twilio-wire";
import type { TwilioOperation } from "./types";

export type RouteResource =
  | { kind: "available"; countryCode: string }
  | { kind: "numbers" }
  | { kind: "number"; sid: string }
  | { kind: "account" }
  | { kind: "caller_ids" };

export interface Route {
  /** Operation per allowed HTTP method. */
  operations: Partial<Record<string, TwilioOperation>>;
  /** The account the path names. */
  accountSid: string | null;
  resource: RouteResource;
}

export function matchRoute(path: string): Route | null {
  if (path.startsWith(`${API_VERSION_PREFIX}/Accounts/`)) return match2010(path);
  return null;
}

function match2010(path: string): Route | null {
  const rest = path.slice(`${API_VERSION_PREFIX}/Accounts/`.length);
  const accountOnly = /^([^/]+)\.json$/.exec(rest);
  if (accountOnly?.[1]) {
    return {
      operations: { GET: "account" },
      accountSid: accountOnly[1],
      resource: { kind: "account" },
    };
  }
  const [accountSid, ...segments] = rest.split("/");
  if (!accountSid) return null;
  const tail = segments.join("/");
  const route = (
    operations: Partial<Record<string, TwilioOperation>>,
    resource: RouteResource,
  ): Route => ({ operations, accountSid, resource });

  const search = /^AvailablePhoneNumbers\/([^/]+)\/Local\.json$/.exec(tail);
  if (search?.[1]) {
    return route({ GET: "search" }, { kind: "available", countryCode: search[1] });
  }
  if (tail === "IncomingPhoneNumbers.json") {
    return route({ GET: "lookup", POST: "purchase" }, { kind: "numbers" });
  }
  const single = /^IncomingPhoneNumbers\/([^/]+)\.json$/.exec(tail);
  if (single?.[1]) {
    return route(
      { GET: "lookup", POST: "update", DELETE: "release" },
      { kind: "number", sid: single[1] },
    );
  }
  if (tail === "OutgoingCallerIds.json") {
    return route({ GET: "caller_ids" }, { kind: "caller_ids" });
  }
  return null;
}
