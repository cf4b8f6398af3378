// LiveKit's rules for SIP trunks and dispatch rules, as pure functions over the stored messages
// (canonical proto JSON, see proto-json.ts): validation, the conflict checks LiveKit runs on
// create and update, ListUpdate, and which trunk and rules an inbound call would meet.

import { TwirpError } from "./twirp";

export type Info = Record<string, unknown>;

export function strings(info: Info, field: string): string[] {
  const value = info[field];
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === "string")
    : [];
}

export function text(info: Info, field: string): string {
  const value = info[field];
  return typeof value === "string" ? value : "";
}

export function object(info: Info, field: string): Info | null {
  const value = info[field];
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Info)
    : null;
}

/** LiveKit compares numbers without spaces, dashes, dots or parentheses, with a leading "+". */
export function normalizeNumber(number: string): string {
  const bare = number.replace(/[\s\-.()]/g, "");
  if (bare === "") return "";
  return bare.startsWith("+") ? bare : `+${bare}`;
}

function sameNumber(a: string, b: string): boolean {
  return a === b || normalizeNumber(a) === normalizeNumber(b);
}

// ---- ListUpdate ----------------------------------------------------------------------------

/** Applies a ListUpdate {set, add, remove, clear}; an invalid one is invalid_argument. */
export function applyListUpdate(list: string[], update: Info | null, field: string): string[] {
  if (update === null) return list;
  const set = strings(update, "set");
  const add = strings(update, "add");
  const remove = strings(update, "remove");
  const clear = update.clear === true;
  const invalid = (message: string) => new TwirpError("invalid_argument", `${field}: ${message}`);
  if (clear && set.length + add.length + remove.length > 0) {
    throw invalid("clear cannot be combined with set, add or remove");
  }
  if (set.length > 0 && add.length + remove.length > 0) {
    throw invalid("set cannot be combined with add or remove");
  }
  if ([...set, ...add, ...remove].some((item) => item === "")) {
    throw invalid("empty values are not allowed");
  }
  if (add.some((item) => remove.includes(item))) {
    throw invalid("the same value cannot be added and removed");
  }
  if (clear) return [];
  if (set.length > 0) return [...new Set(set)];
  const out = list.filter((item) => !remove.includes(item));
  for (const item of add) if (!out.includes(item)) out.push(item);
  return out;
}

// ---- Trunks --------------------------------------------------------------------------------

export function validateInboundTrunk(trunk: Info): void {
  const hasAuth = text(trunk, "auth_username") !== "" || text(trunk, "auth_password") !== "";
  if (
    !hasAuth &&
    strings(trunk, "allowed_addresses").length === 0 &&
    strings(trunk, "numbers").length === 0
  ) {
    throw new TwirpError(
      "invalid_argument",
      "for security, one of the fields must be set: AuthUsername+AuthPassword, AllowedAddresses or Numbers",
    );
  }
}

export function validateOutboundTrunk(trunk: Info): void {
  if (strings(trunk, "numbers").length === 0) {
    throw new TwirpError("invalid_argument", "no trunk numbers specified");
  }
  const address = text(trunk, "address");
  if (address === "") throw new TwirpError("invalid_argument", "no outbound address specified");
  // The proto: "a hostname or IP ... not a SIP URI and should not contain the 'sip:' prefix".
  if (address.includes("@") || /^sips?:/i.test(address)) {
    throw new TwirpError(
      "invalid_argument",
      "trunk address should be a hostname or IP, not SIP URI",
    );
  }
}

/**
 * The calls an inbound trunk claims, as `called|caller` keys (`*` for any): two trunks sharing a
 * key conflict (see checkInboundConflicts). The project indexes them to find candidates fast.
 */
export function inboundTrunkKeys(t: Info): Set<string> {
  const called = strings(t, "numbers").map(normalizeNumber);
  const callers = strings(t, "allowed_numbers").map(normalizeNumber);
  const out = new Set<string>();
  for (const to of called.length > 0 ? called : ["*"]) {
    for (const from of callers.length > 0 ? callers : ["*"]) out.add(`${to}|${from}`);
  }
  return out;
}

/**
 * Two inbound trunks conflict when they would both claim a call: the same called number (or
 * both claiming any number) from the same caller (or both accepting any caller). allowed_numbers
 * that differ tell them apart.
 */
export function checkInboundConflicts(trunk: Info, others: Info[]): void {
  const mine = inboundTrunkKeys(trunk);
  for (const other of others) {
    const shared = [...inboundTrunkKeys(other)].filter((key) => mine.has(key));
    if (shared.length === 0) continue;
    const numbers = [...new Set(shared.map((key) => key.split("|")[0]))]
      .map((n) => (n === "*" ? "(any)" : n))
      .join(", ");
    throw new TwirpError(
      "invalid_argument",
      `Conflicting inbound SIP Trunks: "${text(trunk, "sip_trunk_id")}" and "${text(other, "sip_trunk_id")}", using the same number(s) ${numbers} without AllowedNumbers set`,
    );
  }
}

/**
 * The legacy SIPTrunkInfo that DeleteSIPTrunk answers with, built from either kind of trunk
 * (the first of `numbers` becomes outbound_number).
 */
export function legacyTrunkInfo(trunk: Info, direction: "inbound" | "outbound"): Info {
  const first = strings(trunk, "numbers")[0] ?? "";
  const common = {
    sip_trunk_id: text(trunk, "sip_trunk_id"),
    outbound_number: first,
    name: text(trunk, "name"),
    metadata: text(trunk, "metadata"),
  };
  if (direction === "inbound") {
    return {
      ...common,
      kind: "TRUNK_INBOUND",
      inbound_addresses: strings(trunk, "allowed_addresses"),
      inbound_numbers: strings(trunk, "allowed_numbers"),
      inbound_username: text(trunk, "auth_username"),
      inbound_password: text(trunk, "auth_password"),
    };
  }
  return {
    ...common,
    kind: "TRUNK_OUTBOUND",
    outbound_address: text(trunk, "address"),
    transport: trunk.transport ?? "SIP_TRANSPORT_AUTO",
    outbound_username: text(trunk, "auth_username"),
    outbound_password: text(trunk, "auth_password"),
  };
}

// ---- Dispatch rules ------------------------------------------------------------------------

const RULE_KINDS = ["dispatch_rule_direct", "dispatch_rule_individual", "dispatch_rule_callee"];

/** The set member of the rule's `rule` oneof, or null when none is set. */
export function ruleBody(rule: Info): { kind: string; body: Info } | null {
  const inner = object(rule, "rule");
  if (!inner) return null;
  for (const kind of RULE_KINDS) {
    const body = object(inner, kind);
    if (body) return { kind, body };
  }
  return null;
}

export function validateDispatchRule(rule: Info): void {
  if (!ruleBody(rule)) {
    throw new TwirpError(
      "invalid_argument",
      "rule must be one of dispatch_rule_direct, dispatch_rule_individual, dispatch_rule_callee",
    );
  }
}

/**
 * The calls a dispatch rule takes, as `trunk|called|caller|pin` keys (`*` for any): two rules
 * sharing a key conflict (see checkDispatchRuleConflicts). The project indexes them too.
 */
export function dispatchRuleKeys(r: Info): Set<string> {
  const pin = text(ruleBody(r)?.body ?? {}, "pin");
  const trunks = strings(r, "trunk_ids");
  const called = strings(r, "numbers").map(normalizeNumber);
  const callers = strings(r, "inbound_numbers").map(normalizeNumber);
  const out = new Set<string>();
  for (const trunk of trunks.length > 0 ? trunks : ["*"]) {
    for (const to of called.length > 0 ? called : ["*"]) {
      for (const from of callers.length > 0 ? callers : ["*"]) {
        out.add(`${trunk}|${to}|${from}|${pin}`);
      }
    }
  }
  return out;
}

/**
 * Two dispatch rules conflict when they share a trunk (or both apply to every trunk), a called
 * number (or both to every number), a calling number (likewise) and the PIN.
 */
export function checkDispatchRuleConflicts(rule: Info, others: Info[]): void {
  const mine = dispatchRuleKeys(rule);
  for (const other of others) {
    if ([...dispatchRuleKeys(other)].some((key) => mine.has(key))) {
      throw new TwirpError(
        "invalid_argument",
        `Conflicting SIP Dispatch Rules: same Trunk+Number+PIN combination for "${text(rule, "sip_dispatch_rule_id")}" and "${text(other, "sip_dispatch_rule_id")}"`,
      );
    }
  }
}

export function agentNames(rule: Info): string[] {
  const config = object(rule, "room_config");
  const agents = config?.agents;
  if (!Array.isArray(agents)) return [];
  return agents
    .map((agent) =>
      typeof agent === "object" && agent !== null ? text(agent as Info, "agent_name") : "",
    )
    .filter((name) => name !== "");
}

export function roomPrefix(rule: Info): string | null {
  const body = ruleBody(rule);
  if (!body || body.kind === "dispatch_rule_direct") return null;
  return text(body.body, "room_prefix");
}

// ---- Inbound call routing ------------------------------------------------------------------

export type TrunkChoice = { trunk: Info; reason: null } | { trunk: null; reason: string };

/**
 * The inbound trunk LiveKit would pick for a call to `to` (from `from`, when known): one listing
 * the number beats one listing none (a wildcard); two of the same kind are an error.
 */
export function chooseInboundTrunk(trunks: Info[], to: string, from: string | null): TrunkChoice {
  const candidates = trunks.filter((trunk) => {
    const allowed = strings(trunk, "allowed_numbers");
    return from === null || allowed.length === 0 || allowed.some((n) => sameNumber(n, from));
  });
  const specific = candidates.filter((trunk) =>
    strings(trunk, "numbers").some((n) => sameNumber(n, to)),
  );
  const wildcard = candidates.filter((trunk) => strings(trunk, "numbers").length === 0);
  const ids = (list: Info[]) => list.map((t) => text(t, "sip_trunk_id")).join(", ");
  if (specific.length > 1) {
    return { trunk: null, reason: `Multiple SIP Trunks matched for "${to}": ${ids(specific)}` };
  }
  if (specific[0]) return { trunk: specific[0], reason: null };
  if (wildcard.length > 1) {
    return { trunk: null, reason: `Multiple wildcard SIP Trunks matched: ${ids(wildcard)}` };
  }
  if (wildcard[0]) return { trunk: wildcard[0], reason: null };
  return { trunk: null, reason: `No trunk found for "${to}" (the carrier would hear 404)` };
}

/**
 * Every dispatch rule that applies to a call on `trunkId` to `to` (from `from`, when known): its
 * trunk_ids are empty or hold the trunk, its numbers are empty or hold the called number, and its
 * inbound_numbers are empty or hold the caller.
 */
export function matchingRules(
  rules: Info[],
  trunkId: string,
  to: string,
  from: string | null,
): Info[] {
  return rules.filter((rule) => {
    const trunks = strings(rule, "trunk_ids");
    const called = strings(rule, "numbers");
    const callers = strings(rule, "inbound_numbers");
    return (
      (trunks.length === 0 || trunks.includes(trunkId)) &&
      (called.length === 0 || called.some((n) => sameNumber(n, to))) &&
      (from === null || callers.length === 0 || callers.some((n) => sameNumber(n, from)))
    );
  });
}
