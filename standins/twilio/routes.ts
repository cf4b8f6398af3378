// Which Twilio resource a path names, and which operation each HTTP method performs on it.
// api.twilio.com (2010-04-01) names the account in the path; trunking.twilio.com (v1) does not,
// so its account is the one the credentials name. Routing is by path only, whatever the host.

import { API_VERSION_PREFIX, TRUNKING_PREFIX } from "./twilio-wire";
import type { TwilioOperation } from "./types";

export type RouteResource =
  | { kind: "available"; countryCode: string }
  | { kind: "numbers" }
  | { kind: "number"; sid: string }
  | { kind: "account" }
  | { kind: "caller_ids" }
  | { kind: "credential_lists" }
  | { kind: "credential_list"; sid: string }
  | { kind: "credentials"; listSid: string }
  | { kind: "credential"; listSid: string; sid: string }
  | { kind: "trunks" }
  | { kind: "trunk"; sid: string }
  | { kind: "trunk_items"; trunkSid: string; items: TrunkItems }
  | { kind: "trunk_item"; trunkSid: string; items: TrunkItems; sid: string };

/** The lists a trunk holds, by their path segment. */
export type TrunkItems = "OriginationUrls" | "PhoneNumbers" | "CredentialLists";

const TRUNK_ITEMS: readonly TrunkItems[] = ["OriginationUrls", "PhoneNumbers", "CredentialLists"];

export interface Route {
  /** Operation per allowed HTTP method. */
  operations: Partial<Record<string, TwilioOperation>>;
  /** The account the path names (2010 API); null on trunking, where the credentials name it. */
  accountSid: string | null;
  resource: RouteResource;
}

function same(
  operation: TwilioOperation,
  methods: string[],
): Partial<Record<string, TwilioOperation>> {
  return Object.fromEntries(methods.map((method) => [method, operation]));
}

export function matchRoute(path: string): Route | null {
  if (path.startsWith(`${TRUNKING_PREFIX}/`)) return matchTrunking(path);
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
  if (tail === "SIP/CredentialLists.json") {
    return route(same("sip", ["GET", "POST"]), { kind: "credential_lists" });
  }
  const list = /^SIP\/CredentialLists\/([^/]+)\.json$/.exec(tail);
  if (list?.[1]) {
    return route(same("sip", ["GET", "POST", "DELETE"]), { kind: "credential_list", sid: list[1] });
  }
  const credentials = /^SIP\/CredentialLists\/([^/]+)\/Credentials\.json$/.exec(tail);
  if (credentials?.[1]) {
    return route(same("sip", ["GET", "POST"]), { kind: "credentials", listSid: credentials[1] });
  }
  const credential = /^SIP\/CredentialLists\/([^/]+)\/Credentials\/([^/]+)\.json$/.exec(tail);
  if (credential?.[1] && credential[2]) {
    return route(same("sip", ["GET", "POST", "DELETE"]), {
      kind: "credential",
      listSid: credential[1],
      sid: credential[2],
    });
  }
  return null;
}

function matchTrunking(path: string): Route | null {
  const segments = path.slice(`${TRUNKING_PREFIX}/`.length).split("/");
  const route = (methods: string[], resource: RouteResource): Route => ({
    operations: same("trunking", methods),
    accountSid: null,
    resource,
  });
  const [collection, trunkSid, items, itemSid, ...extra] = segments;
  if (collection !== "Trunks" || extra.length > 0) return null;
  if (trunkSid === undefined) return route(["GET", "POST"], { kind: "trunks" });
  if (!trunkSid) return null;
  if (items === undefined)
    return route(["GET", "POST", "DELETE"], { kind: "trunk", sid: trunkSid });
  if (!(TRUNK_ITEMS as readonly string[]).includes(items)) return null;
  const trunkItems = items as TrunkItems;
  if (itemSid === undefined) {
    return route(["GET", "POST"], { kind: "trunk_items", trunkSid, items: trunkItems });
  }
  if (!itemSid) return null;
  // Only an origination URL can be updated; a number or a credential list is posted again.
  const methods = trunkItems === "OriginationUrls" ? ["GET", "POST", "DELETE"] : ["GET", "DELETE"];
  return route(methods, { kind: "trunk_item", trunkSid, items: trunkItems, sid: itemSid });
}
