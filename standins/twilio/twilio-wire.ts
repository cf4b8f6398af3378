// How Twilio's 2010-04-01 API spells things on the wire: error bodies, dates, resources.

import { locationForNpa, nationalFormat } from "./inventory";
import type { AccountStatus, AccountType, TwilioErrorBody } from "./types";

export const API_VERSION_PREFIX = "/2010-04-01";
/** trunking.twilio.com's API; its URLs are absolute, so they name the host too. */
export const TRUNKING_PREFIX = "/v1";
export const TRUNKING_ORIGIN = "https://trunking.twilio.com";
const API_ORIGIN = "https://api.twilio.com";

export function twilioError(status: number, code: number, message: string): TwilioErrorBody {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

export function notFound(path: string): TwilioErrorBody {
  return twilioError(404, 20404, `The requested resource ${path} was not found`);
}

/** A required form field is absent: Twilio's 20001. */
export function missingParameter(name: string): TwilioErrorBody {
  return twilioError(400, 20001, `Missing required parameter ${name} in the post body`);
}

/** A form field Twilio cannot take (the stand-in's use of 20001 for bad values). */
export function invalidParameter(message: string): TwilioErrorBody {
  return twilioError(400, 20001, message);
}

/** Default code and message for a `status` fault that names only the HTTP status. */
export function defaultErrorForStatus(status: number): { code: number; message: string } {
  if (status >= 500) return { code: 20500, message: "Internal Server Error" };
  if (status === 429) return { code: 20429, message: "Too Many Requests" };
  if (status === 401) return { code: 20003, message: "Authenticate" };
  return { code: 21422, message: "Phone number is not available" };
}

/** Twilio's message for a code a `status` fault names without a message, when it is known. */
export function messageForCode(code: number, path: string): string | null {
  switch (code) {
    case 20003:
      return "Authenticate";
    case 20404:
      return notFound(path).message;
    case 20429:
      return "Too Many Requests";
    case 20500:
      return "Internal Server Error";
    case 21421:
      return "PhoneNumber is invalid";
    case 21422:
      return "Phone number is not available";
    case 21452:
      return "No phone numbers found in area code";
    default:
      return null;
  }
}

const EDGE_STATUS_TEXT: Record<number, string> = {
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** The HTML page a proxy in front of Twilio answers a 5xx with, instead of Twilio's JSON. */
export function edgeErrorPage(status: number): string {
  const title = `${status} ${EDGE_STATUS_TEXT[status] ?? "Server Error"}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n`;
}

/** RFC 2822 in UTC, as the 2010 API writes dates: "Thu, 30 Jul 2015 23:19:04 +0000". */
export function rfc2822(date: Date): string {
  return date.toUTCString().replace(/GMT$/, "+0000");
}

/** ISO 8601 without milliseconds, as Twilio's v1 APIs write dates: "2015-01-02T11:23:45Z". */
export function iso8601(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The form fields of POST IncomingPhoneNumbers that end up on the resource. */
const RESOURCE_FIELD_BY_FORM_FIELD = {
  AddressSid: "address_sid",
  ApiVersion: "api_version",
  BundleSid: "bundle_sid",
  EmergencyAddressSid: "emergency_address_sid",
  EmergencyStatus: "emergency_status",
  FriendlyName: "friendly_name",
  IdentitySid: "identity_sid",
  SmsApplicationSid: "sms_application_sid",
  SmsFallbackMethod: "sms_fallback_method",
  SmsFallbackUrl: "sms_fallback_url",
  SmsMethod: "sms_method",
  SmsUrl: "sms_url",
  StatusCallback: "status_callback",
  StatusCallbackMethod: "status_callback_method",
  TrunkSid: "trunk_sid",
  VoiceApplicationSid: "voice_application_sid",
  VoiceFallbackMethod: "voice_fallback_method",
  VoiceFallbackUrl: "voice_fallback_url",
  VoiceMethod: "voice_method",
  VoiceReceiveMode: "voice_receive_mode",
  VoiceUrl: "voice_url",
} as const;

export type IncomingPhoneNumberResource = Record<string, unknown> & {
  sid: string;
  phone_number: string;
  friendly_name: string;
  trunk_sid: string | null;
  date_created: string;
};

/** A freshly bought number: every field the spec lists, Twilio's defaults, null where unknown. */
export function newIncomingPhoneNumber(options: {
  accountSid: string;
  sid: string;
  phoneNumber: string;
  form: Record<string, string>;
  now: Date;
}): IncomingPhoneNumberResource {
  const created = rfc2822(options.now);
  const resource: IncomingPhoneNumberResource = {
    account_sid: options.accountSid,
    address_sid: null,
    address_requirements: "none",
    api_version: "2010-04-01",
    beta: false,
    capabilities: { voice: true, sms: true, mms: true, fax: false },
    date_created: created,
    date_updated: created,
    emergency_status: "Inactive",
    emergency_address_sid: null,
    emergency_address_status: "unregistered",
    friendly_name: nationalFormat(options.phoneNumber),
    identity_sid: null,
    origin: "twilio",
    phone_number: options.phoneNumber,
    sid: options.sid,
    sms_application_sid: null,
    sms_fallback_method: "POST",
    sms_fallback_url: null,
    sms_method: "POST",
    sms_url: null,
    status_callback: null,
    status_callback_method: "POST",
    trunk_sid: null,
    uri: `${API_VERSION_PREFIX}/Accounts/${options.accountSid}/IncomingPhoneNumbers/${options.sid}.json`,
    voice_receive_mode: "voice",
    voice_application_sid: null,
    voice_caller_id_lookup: false,
    voice_fallback_method: "POST",
    voice_fallback_url: null,
    voice_method: "POST",
    voice_url: null,
    bundle_sid: null,
    status: "in-use",
    type: "local",
    subresource_uris: {
      assigned_add_ons: `${API_VERSION_PREFIX}/Accounts/${options.accountSid}/IncomingPhoneNumbers/${options.sid}/AssignedAddOns.json`,
    },
  };
  applyForm(resource, options.form);
  return resource;
}

/** Copies the writable fields a POST carried onto the resource (create and update alike). */
export function applyForm(
  resource: IncomingPhoneNumberResource,
  form: Record<string, string>,
): void {
  for (const [formField, resourceField] of Object.entries(RESOURCE_FIELD_BY_FORM_FIELD)) {
    const value = form[formField];
    if (value !== undefined) resource[resourceField] = value;
  }
  const lookup = form.VoiceCallerIdLookup;
  if (lookup !== undefined) resource.voice_caller_id_lookup = lookup.toLowerCase() === "true";
  // Twilio: setting a trunk clears the voice application and vice versa.
  if (form.TrunkSid) resource.voice_application_sid = null;
  if (form.VoiceApplicationSid) resource.trunk_sid = null;
}

/** One AvailablePhoneNumbers item; capability keys are upper-case here, unlike IncomingPhoneNumbers. */
export function availableNumberItem(e164: string): Record<string, unknown> {
  const location = locationForNpa(e164.slice(2, 5));
  return {
    friendly_name: nationalFormat(e164),
    phone_number: e164,
    lata: location.lata,
    locality: location.locality,
    rate_center: location.rate_center,
    latitude: location.latitude,
    longitude: location.longitude,
    region: location.region,
    postal_code: location.postal_code,
    iso_country: "US",
    address_requirements: "none",
    beta: false,
    capabilities: { voice: true, SMS: true, MMS: true, fax: false },
  };
}

/**
 * An AvailablePhoneNumbers item without `phone_number` and `iso_country`, both nullable in the
 * spec: what an `odd_item` fault slips into a search.
 */
export function oddAvailableNumberItem(npa: string): Record<string, unknown> {
  return { ...availableNumberItem(`+1${npa}5550100`), phone_number: null, iso_country: null };
}

/** An IncomingPhoneNumbers item without `phone_number` (nullable in the spec): `odd_item`. */
export function oddIncomingPhoneNumber(accountSid: string, now: Date): Record<string, unknown> {
  const sid = `PN${crypto.randomUUID().replaceAll("-", "")}`;
  const resource = newIncomingPhoneNumber({
    accountSid,
    sid,
    phoneNumber: "+15555550100",
    form: {},
    now,
  });
  return { ...resource, phone_number: null };
}

/** GET Accounts/{AC}.json: Twilio includes the auth token (the request log redacts it). */
export function accountResource(account: {
  sid: string;
  auth_token: string;
  friendly_name: string;
  type: AccountType;
  status: AccountStatus;
  date_created: number;
}): Record<string, unknown> {
  const base = `${API_VERSION_PREFIX}/Accounts/${account.sid}`;
  const created = rfc2822(new Date(account.date_created));
  const subresources = {
    available_phone_numbers: "AvailablePhoneNumbers",
    calls: "Calls",
    conferences: "Conferences",
    incoming_phone_numbers: "IncomingPhoneNumbers",
    notifications: "Notifications",
    outgoing_caller_ids: "OutgoingCallerIds",
    recordings: "Recordings",
    transcriptions: "Transcriptions",
    addresses: "Addresses",
    signing_keys: "SigningKeys",
    connect_apps: "ConnectApps",
    sip: "SIP",
    authorized_connect_apps: "AuthorizedConnectApps",
    usage: "Usage",
    keys: "Keys",
    applications: "Applications",
    short_codes: "SMS/ShortCodes",
    queues: "Queues",
    messages: "Messages",
    balance: "Balance",
  };
  return {
    auth_token: account.auth_token,
    date_created: created,
    date_updated: created,
    friendly_name: account.friendly_name,
    owner_account_sid: account.sid,
    sid: account.sid,
    status: account.status,
    subresource_uris: Object.fromEntries(
      Object.entries(subresources).map(([key, name]) => [key, `${base}/${name}.json`]),
    ),
    type: account.type,
    uri: `${base}.json`,
  };
}

/** One OutgoingCallerIds item: a verified caller id. */
export function callerIdResource(callerId: {
  sid: string;
  account_sid: string;
  phone_number: string;
  friendly_name: string;
  date_created: number;
}): Record<string, unknown> {
  const created = rfc2822(new Date(callerId.date_created));
  return {
    account_sid: callerId.account_sid,
    date_created: created,
    date_updated: created,
    friendly_name: callerId.friendly_name,
    phone_number: callerId.phone_number,
    sid: callerId.sid,
    uri: `${API_VERSION_PREFIX}/Accounts/${callerId.account_sid}/OutgoingCallerIds/${callerId.sid}.json`,
  };
}

/** A SIP CredentialList of the 2010 API. */
export function credentialListResource(list: {
  sid: string;
  account_sid: string;
  friendly_name: string;
  date_created: number;
  date_updated: number;
}): Record<string, unknown> {
  const uri = `${API_VERSION_PREFIX}/Accounts/${list.account_sid}/SIP/CredentialLists/${list.sid}`;
  return {
    account_sid: list.account_sid,
    date_created: rfc2822(new Date(list.date_created)),
    date_updated: rfc2822(new Date(list.date_updated)),
    friendly_name: list.friendly_name,
    sid: list.sid,
    subresource_uris: { credentials: `${uri}/Credentials.json` },
    uri: `${uri}.json`,
  };
}

/** A SIP Credential: its username, never its password. */
export function credentialResource(credential: {
  sid: string;
  account_sid: string;
  credential_list_sid: string;
  username: string;
  date_created: number;
  date_updated: number;
}): Record<string, unknown> {
  return {
    sid: credential.sid,
    account_sid: credential.account_sid,
    credential_list_sid: credential.credential_list_sid,
    username: credential.username,
    date_created: rfc2822(new Date(credential.date_created)),
    date_updated: rfc2822(new Date(credential.date_updated)),
    uri: `${API_VERSION_PREFIX}/Accounts/${credential.account_sid}/SIP/CredentialLists/${credential.credential_list_sid}/Credentials/${credential.sid}.json`,
  };
}

export type TransferMode = "disable-all" | "enable-all" | "sip-only";
export type TransferCallerId = "from-transferee" | "from-transferor";

/** A trunk's writable fields besides its domain name. */
export interface TrunkSettings {
  friendly_name: string | null;
  disaster_recovery_url: string | null;
  disaster_recovery_method: "GET" | "POST";
  transfer_mode: TransferMode;
  transfer_caller_id: TransferCallerId;
  secure: boolean;
  cnam_lookup_enabled: boolean;
}

export const DEFAULT_TRUNK_SETTINGS: TrunkSettings = {
  friendly_name: null,
  disaster_recovery_url: null,
  disaster_recovery_method: "POST",
  transfer_mode: "disable-all",
  transfer_caller_id: "from-transferee",
  secure: false,
  cnam_lookup_enabled: false,
};

function trunkUrl(trunkSid: string): string {
  return `${TRUNKING_ORIGIN}${TRUNKING_PREFIX}/Trunks/${trunkSid}`;
}

/** A trunking v1 Trunk. `auth_type` says CREDENTIAL_LIST once a credential list is on it. */
export function trunkResource(
  trunk: {
    sid: string;
    account_sid: string;
    domain_name: string | null;
    settings: TrunkSettings;
    date_created: number;
    date_updated: number;
  },
  hasCredentialLists: boolean,
): Record<string, unknown> {
  const url = trunkUrl(trunk.sid);
  return {
    account_sid: trunk.account_sid,
    domain_name: trunk.domain_name,
    disaster_recovery_method: trunk.settings.disaster_recovery_method,
    disaster_recovery_url: trunk.settings.disaster_recovery_url,
    friendly_name: trunk.settings.friendly_name,
    secure: trunk.settings.secure,
    recording: { mode: "do-not-record", trim: "do-not-trim" },
    transfer_mode: trunk.settings.transfer_mode,
    transfer_caller_id: trunk.settings.transfer_caller_id,
    cnam_lookup_enabled: trunk.settings.cnam_lookup_enabled,
    auth_type: hasCredentialLists ? "CREDENTIAL_LIST" : "",
    symmetric_rtp_enabled: false,
    auth_type_set: hasCredentialLists ? ["CREDENTIAL_LIST"] : [],
    date_created: iso8601(new Date(trunk.date_created)),
    date_updated: iso8601(new Date(trunk.date_updated)),
    sid: trunk.sid,
    url,
    links: {
      origination_urls: `${url}/OriginationUrls`,
      credential_lists: `${url}/CredentialLists`,
      ip_access_control_lists: `${url}/IpAccessControlLists`,
      phone_numbers: `${url}/PhoneNumbers`,
    },
  };
}

/** An origination URL as the stand-in keeps it (`seq`: its order among the trunk's). */
export interface OriginationUrlRow {
  seq: number;
  sid: string;
  account_sid: string;
  trunk_sid: string;
  sip_url: string;
  priority: number;
  weight: number;
  enabled: boolean;
  friendly_name: string;
  date_created: number;
  date_updated: number;
}

export function originationUrlResource(origination: OriginationUrlRow): Record<string, unknown> {
  return {
    account_sid: origination.account_sid,
    sid: origination.sid,
    trunk_sid: origination.trunk_sid,
    weight: origination.weight,
    enabled: origination.enabled,
    sip_url: origination.sip_url,
    friendly_name: origination.friendly_name,
    priority: origination.priority,
    date_created: iso8601(new Date(origination.date_created)),
    date_updated: iso8601(new Date(origination.date_updated)),
    url: `${trunkUrl(origination.trunk_sid)}/OriginationUrls/${origination.sid}`,
  };
}

/** A number on a trunk, in trunking v1's words (ISO 8601 dates, absolute URLs). */
export function trunkPhoneNumberResource(
  number: IncomingPhoneNumberResource,
  trunkSid: string,
): Record<string, unknown> {
  const field = (name: string) => (number[name] as unknown) ?? null;
  const accountSid = String(number.account_sid);
  return {
    account_sid: accountSid,
    address_requirements: field("address_requirements"),
    api_version: field("api_version"),
    beta: field("beta"),
    capabilities: field("capabilities"),
    date_created: iso8601(new Date(Date.parse(number.date_created))),
    date_updated: iso8601(new Date(Date.parse(String(number.date_updated)))),
    friendly_name: number.friendly_name,
    links: {
      phone_number: `${API_ORIGIN}${API_VERSION_PREFIX}/Accounts/${accountSid}/IncomingPhoneNumbers/${number.sid}`,
    },
    phone_number: number.phone_number,
    sid: number.sid,
    sms_application_sid: field("sms_application_sid"),
    sms_fallback_method: field("sms_fallback_method"),
    sms_fallback_url: field("sms_fallback_url"),
    sms_method: field("sms_method"),
    sms_url: field("sms_url"),
    status_callback: field("status_callback"),
    status_callback_method: field("status_callback_method"),
    trunk_sid: trunkSid,
    url: `${trunkUrl(trunkSid)}/PhoneNumbers/${number.sid}`,
    voice_application_sid: field("voice_application_sid"),
    voice_caller_id_lookup: field("voice_caller_id_lookup"),
    voice_fallback_method: field("voice_fallback_method"),
    voice_fallback_url: field("voice_fallback_url"),
    voice_method: field("voice_method"),
    voice_url: field("voice_url"),
  };
}

/** A credential list on a trunk: the list's name, the association's dates. */
export function trunkCredentialListResource(association: {
  account_sid: string;
  trunk_sid: string;
  credential_list_sid: string;
  friendly_name: string;
  date_created: number;
}): Record<string, unknown> {
  const created = iso8601(new Date(association.date_created));
  return {
    account_sid: association.account_sid,
    sid: association.credential_list_sid,
    trunk_sid: association.trunk_sid,
    friendly_name: association.friendly_name,
    date_created: created,
    date_updated: created,
    url: `${trunkUrl(association.trunk_sid)}/CredentialLists/${association.credential_list_sid}`,
  };
}
