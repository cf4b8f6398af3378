import * as z from "zod/mini";

// The parts of LiveKit's messages (spec/livekit/*.proto, as proto3 JSON) this service reads, and
// their translation into our own camelCase types. Twirp may leave out any field that holds its
// default, so every field but the id defaults; an id-less item is unreadable (except the `{}`
// placeholders of a list by ids, which the client drops first).

const text = z._default(z.string(), "");
const texts = z._default(z.array(z.string()), []);
const timestamp = z.optional(z.string());
/** Enums arrive by name; a number is what protojson writes for a value it does not know. */
const enumValue = z.optional(z.union([z.string(), z.number()]));

export const InboundTrunkWire = z.object({
  sip_trunk_id: z.string().check(z.minLength(1)),
  name: text,
  metadata: text,
  numbers: texts,
  allowed_addresses: texts,
  allowed_numbers: texts,
  auth_username: text,
  auth_password: text,
  created_at: timestamp,
  updated_at: timestamp,
});

export const OutboundTrunkWire = z.object({
  sip_trunk_id: z.string().check(z.minLength(1)),
  name: text,
  metadata: text,
  address: text,
  transport: enumValue,
  numbers: texts,
  auth_username: text,
  auth_password: text,
  created_at: timestamp,
  updated_at: timestamp,
});

const RuleBodyWire = z.object({ room_prefix: text, room_name: text, pin: text });

export const DispatchRuleWire = z.object({
  sip_dispatch_rule_id: z.string().check(z.minLength(1)),
  rule: z.optional(
    z.object({
      dispatch_rule_direct: z.optional(RuleBodyWire),
      dispatch_rule_individual: z.optional(RuleBodyWire),
      dispatch_rule_callee: z.optional(RuleBodyWire),
    }),
  ),
  trunk_ids: texts,
  numbers: texts,
  inbound_numbers: texts,
  name: text,
  metadata: text,
  attributes: z._default(z.record(z.string(), z.string()), {}),
  room_config: z.optional(
    z.object({ agents: z._default(z.array(z.object({ agent_name: text })), []) }),
  ),
  created_at: timestamp,
  updated_at: timestamp,
});

/** A PhoneNumber as search results carry it (no id: not bought yet). */
export const InventoryNumberWire = z.object({
  e164_format: z.string().check(z.minLength(1)),
  country_code: text,
  area_code: text,
  number_type: enumValue,
  locality: text,
  region: text,
  capabilities: texts,
});

export const PhoneNumberWire = z.extend(InventoryNumberWire, {
  id: z.string().check(z.minLength(1)),
  status: enumValue,
  sip_dispatch_rule_id: text,
  sip_dispatch_rule_ids: texts,
  created_at: timestamp,
  updated_at: timestamp,
  released_at: timestamp,
});

export const TokenPaginationWire = z.optional(z.object({ token: text }));

/** Twirp's error body, as far as it can be read. */
export const TwirpErrorWire = z.object({
  code: z.string(),
  msg: z._default(z.string(), ""),
  meta: z.optional(z.record(z.string(), z.string())),
});

// ---- Our types -----------------------------------------------------------------------------

export type InboundTrunk = {
  id: string;
  name: string;
  metadata: string;
  /** Called numbers the trunk accepts; empty: any number (a wildcard trunk). */
  numbers: string[];
  /** Callers the trunk accepts; empty: anyone. */
  allowedNumbers: string[];
  allowedAddresses: string[];
  /** Whether inbound INVITEs must authenticate (the password itself is never read). */
  hasAuth: boolean;
  createdAt: string | null;
  updatedAt: string | null;
};

export type SipTransport = "auto" | "udp" | "tcp" | "tls";

export type OutboundTrunk = {
  id: string;
  name: string;
  metadata: string;
  /** Host (not a SIP URI) LiveKit sends INVITEs to, e.g. `<name>.pstn.twilio.com`. */
  address: string;
  transport: SipTransport;
  /** Caller ids that may be used on the trunk. */
  numbers: string[];
  authUsername: string;
  hasAuthPassword: boolean;
  createdAt: string | null;
  updatedAt: string | null;
};

export type DispatchRule = {
  id: string;
  name: string;
  metadata: string;
  /** Empty: the rule applies to every trunk. */
  trunkIds: string[];
  /** Called numbers the rule applies to; empty: every number. */
  numbers: string[];
  /** Callers the rule applies to; empty: every caller. */
  inboundNumbers: string[];
  kind: "individual" | "direct" | "callee" | null;
  /** The room-name prefix of an individual or callee rule. */
  roomPrefix: string | null;
  /** The room of a direct rule. */
  roomName: string | null;
  pin: string | null;
  /** The agents dispatched into the room (room_config.agents[].agent_name). */
  agentNames: string[];
  attributes: Record<string, string>;
  createdAt: string | null;
  updatedAt: string | null;
};

export type AvailableLiveKitNumber = {
  e164: string;
  countryCode: string;
  areaCode: string;
  numberType: string;
  locality: string;
  region: string;
  capabilities: string[];
};

export type LiveKitNumberStatus = "active" | "pending" | "released" | "offline" | "unspecified";

export type LiveKitPhoneNumber = AvailableLiveKitNumber & {
  id: string;
  status: LiveKitNumberStatus;
  /** Dispatch rules the number is assigned to. */
  dispatchRuleIds: string[];
  createdAt: string | null;
  updatedAt: string | null;
  releasedAt: string | null;
};

// ---- Translations --------------------------------------------------------------------------

const TRANSPORTS: Record<string, SipTransport> = {
  SIP_TRANSPORT_AUTO: "auto",
  SIP_TRANSPORT_UDP: "udp",
  SIP_TRANSPORT_TCP: "tcp",
  SIP_TRANSPORT_TLS: "tls",
  "0": "auto",
  "1": "udp",
  "2": "tcp",
  "3": "tls",
};

export const TRANSPORT_NAMES: Record<SipTransport, string> = {
  auto: "SIP_TRANSPORT_AUTO",
  udp: "SIP_TRANSPORT_UDP",
  tcp: "SIP_TRANSPORT_TCP",
  tls: "SIP_TRANSPORT_TLS",
};

const STATUSES: Record<string, LiveKitNumberStatus> = {
  PHONE_NUMBER_STATUS_ACTIVE: "active",
  PHONE_NUMBER_STATUS_PENDING: "pending",
  PHONE_NUMBER_STATUS_RELEASED: "released",
  PHONE_NUMBER_STATUS_OFFLINE: "offline",
  "1": "active",
  "2": "pending",
  "3": "released",
  "4": "offline",
};

export const STATUS_NAMES: Record<Exclude<LiveKitNumberStatus, "unspecified">, string> = {
  active: "PHONE_NUMBER_STATUS_ACTIVE",
  pending: "PHONE_NUMBER_STATUS_PENDING",
  released: "PHONE_NUMBER_STATUS_RELEASED",
  offline: "PHONE_NUMBER_STATUS_OFFLINE",
};

const NUMBER_TYPES: Record<string, string> = {
  PHONE_NUMBER_TYPE_MOBILE: "mobile",
  PHONE_NUMBER_TYPE_LOCAL: "local",
  PHONE_NUMBER_TYPE_TOLL_FREE: "toll_free",
  "1": "mobile",
  "2": "local",
  "3": "toll_free",
};

export function toInboundTrunk(wire: z.infer<typeof InboundTrunkWire>): InboundTrunk {
  return {
    id: wire.sip_trunk_id,
    name: wire.name,
    metadata: wire.metadata,
    numbers: wire.numbers,
    allowedNumbers: wire.allowed_numbers,
    allowedAddresses: wire.allowed_addresses,
    hasAuth: wire.auth_username !== "" || wire.auth_password !== "",
    createdAt: wire.created_at ?? null,
    updatedAt: wire.updated_at ?? null,
  };
}

export function toOutboundTrunk(wire: z.infer<typeof OutboundTrunkWire>): OutboundTrunk {
  return {
    id: wire.sip_trunk_id,
    name: wire.name,
    metadata: wire.metadata,
    address: wire.address,
    transport: TRANSPORTS[String(wire.transport ?? 0)] ?? "auto",
    numbers: wire.numbers,
    authUsername: wire.auth_username,
    hasAuthPassword: wire.auth_password !== "",
    createdAt: wire.created_at ?? null,
    updatedAt: wire.updated_at ?? null,
  };
}

export function toDispatchRule(wire: z.infer<typeof DispatchRuleWire>): DispatchRule {
  const individual = wire.rule?.dispatch_rule_individual;
  const direct = wire.rule?.dispatch_rule_direct;
  const callee = wire.rule?.dispatch_rule_callee;
  const body = individual ?? direct ?? callee ?? null;
  let kind: DispatchRule["kind"] = null;
  if (individual) kind = "individual";
  else if (direct) kind = "direct";
  else if (callee) kind = "callee";
  return {
    id: wire.sip_dispatch_rule_id,
    name: wire.name,
    metadata: wire.metadata,
    trunkIds: wire.trunk_ids,
    numbers: wire.numbers,
    inboundNumbers: wire.inbound_numbers,
    kind,
    roomPrefix: kind === "individual" || kind === "callee" ? (body?.room_prefix ?? "") : null,
    roomName: kind === "direct" ? (body?.room_name ?? "") : null,
    pin: body && body.pin !== "" ? body.pin : null,
    agentNames: (wire.room_config?.agents ?? [])
      .map((agent) => agent.agent_name)
      .filter((name) => name !== ""),
    attributes: wire.attributes,
    createdAt: wire.created_at ?? null,
    updatedAt: wire.updated_at ?? null,
  };
}

export function toAvailableNumber(
  wire: z.infer<typeof InventoryNumberWire>,
): AvailableLiveKitNumber {
  return {
    e164: wire.e164_format,
    countryCode: wire.country_code,
    areaCode: wire.area_code,
    numberType: NUMBER_TYPES[String(wire.number_type ?? 0)] ?? "unknown",
    locality: wire.locality,
    region: wire.region,
    capabilities: wire.capabilities,
  };
}

export function toPhoneNumber(wire: z.infer<typeof PhoneNumberWire>): LiveKitPhoneNumber {
  const ruleIds =
    wire.sip_dispatch_rule_ids.length > 0
      ? wire.sip_dispatch_rule_ids
      : wire.sip_dispatch_rule_id !== ""
        ? [wire.sip_dispatch_rule_id]
        : [];
  return {
    ...toAvailableNumber(wire),
    id: wire.id,
    status: STATUSES[String(wire.status ?? 0)] ?? "unspecified",
    dispatchRuleIds: ruleIds,
    createdAt: wire.created_at ?? null,
    updatedAt: wire.updated_at ?? null,
    releasedAt: wire.released_at ?? null,
  };
}

/**
 * The tags we put in a trunk's or rule's `metadata` (number_id, workspace_id, trunk_id), read
 * back; anything else (someone else's metadata, not JSON) reads as no tags.
 */
export function metadataOf(metadata: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(metadata);
    return parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
