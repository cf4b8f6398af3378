// Proto3's JSON mapping, driven by proto-schema.json: how Twirp (Go protojson) reads a JSON body
// and how it writes one. The stand-in decodes requests with it (mode "accept"), and the contract
// checker holds logged requests and responses to it (modes "request" and "response").
//
// The rules, from the proto3 JSON mapping:
// - keys are proto field names; parsers also accept the lowerCamelCase json_name;
// - null means "not set"; a parser ignores unknown fields (Twirp: DiscardUnknown);
// - int64/uint64 (and fixed/sint kinds) are written as decimal strings, 32-bit ints as numbers;
//   parsers accept either for both;
// - enums are written by name; parsers accept the name or the number;
// - bytes are base64; Timestamp is RFC 3339 ("...Z" when written); Duration is "1.5s";
// - maps are objects; at most one member of a oneof may be set.

import {
  type FieldSchema,
  type MessageSchema,
  type ProtoSchema,
  SCALAR_TYPES,
} from "./proto-parse";
import schemaJson from "./proto-schema.json";

export const PROTO_SCHEMA = schemaJson as ProtoSchema;

/**
 * - `accept`: what a Twirp server accepts (the stand-in decodes with this);
 * - `request`: what our client must send: `accept`, but proto field names only and no unknown
 *   fields (a field LiveKit would silently drop is a bug on our side);
 * - `response`: what protojson writes: proto names, no nulls, enums by name, 64-bit ints as
 *   strings, timestamps in UTC.
 */
export type JsonMode = "accept" | "request" | "response";

export interface ReadResult {
  /** The canonical form (proto names, defaults omitted); meaningful when problems is empty. */
  value: Record<string, unknown>;
  problems: string[];
}

const INT32_KINDS = new Set(["int32", "sint32", "sfixed32"]);
const UINT32_KINDS = new Set(["uint32", "fixed32"]);
const INT64_KINDS = new Set(["int64", "sint64", "sfixed64"]);
const UINT64_KINDS = new Set(["uint64", "fixed64"]);
const FLOAT_KINDS = new Set(["float", "double"]);

const TIMESTAMP_ACCEPTED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const TIMESTAMP_WRITTEN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.(\d{3}|\d{6}|\d{9}))?Z$/;
const DURATION = /^-?\d+(\.\d{1,9})?s$/;
const BASE64 = /^([A-Za-z0-9+/\-_]{4})*([A-Za-z0-9+/\-_]{2}(==)?|[A-Za-z0-9+/\-_]{3}=?)?$/;

const SECRET_PLACEHOLDER = "<redacted>";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value).slice(0, 40)}`;
  return `${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;
}

class Reader {
  readonly problems: string[] = [];

  constructor(
    readonly schema: ProtoSchema,
    readonly mode: JsonMode,
  ) {}

  problem(path: string, text: string): undefined {
    this.problems.push(`${path || "(body)"}: ${text}`);
    return undefined;
  }

  /** A message object → its canonical form; undefined when it is not an object at all. */
  message(typeName: string, json: unknown, path: string): Record<string, unknown> | undefined {
    const message = this.schema.messages[typeName];
    if (!message) {
      // A type the vendored files do not define: anything goes, kept as sent.
      return isObject(json) ? json : undefined;
    }
    if (!isObject(json)) {
      return this.problem(path, `must be a ${typeName} object, not ${describe(json)}`);
    }
    const out: Record<string, unknown> = {};
    const byJsonName = new Map(
      Object.entries(message.fields).map(([name, field]) => [field.json_name, name]),
    );
    const seen = new Set<string>();
    const oneofsSet = new Map<string, string>();
    for (const [key, raw] of Object.entries(json)) {
      // Not JSON, but objects the stand-in builds may hold it: absent.
      if (raw === undefined) continue;
      const at = path ? `${path}.${key}` : key;
      let name = key;
      if (!Object.hasOwn(message.fields, key)) {
        const viaJsonName = byJsonName.get(key);
        if (viaJsonName === undefined) {
          if (this.mode !== "accept") this.problem(at, `${typeName} has no field ${key}`);
          continue;
        }
        if (this.mode !== "accept") {
          this.problem(at, `use the proto field name ${viaJsonName}, not its JSON name`);
        }
        name = viaJsonName;
      }
      if (seen.has(name)) {
        this.problem(at, `field ${name} is given twice`);
        continue;
      }
      seen.add(name);
      const field = message.fields[name] as FieldSchema;
      if (raw === null) {
        if (this.mode === "response") this.problem(at, "protojson never writes null");
        continue;
      }
      if (field.oneof !== undefined) {
        const other = oneofsSet.get(field.oneof);
        if (other !== undefined) {
          this.problem(at, `oneof ${field.oneof} is already set by ${other}`);
          continue;
        }
        oneofsSet.set(field.oneof, name);
      }
      const value = this.field(field, raw, at);
      if (value !== undefined && !this.isDefault(field, value)) out[name] = value;
    }
    return out;
  }

  /** Whether the canonical form leaves this value out (proto3 implicit presence). */
  isDefault(field: FieldSchema, value: unknown): boolean {
    if (field.map_key !== undefined) return isObject(value) && Object.keys(value).length === 0;
    if (field.label === "repeated") return Array.isArray(value) && value.length === 0;
    // Explicit presence: proto3 `optional`, oneof members and messages are kept when set.
    if (field.label === "optional" || field.oneof !== undefined) return false;
    if (isObject(value)) return false;
    const type = field.type;
    if (type === "string" || type === "bytes") return value === "";
    if (type === "bool") return value === false;
    if (INT64_KINDS.has(type) || UINT64_KINDS.has(type)) return value === "0";
    if (SCALAR_TYPES.has(type)) return value === 0;
    const enumValues = this.schema.enums[type]?.values;
    if (!enumValues) return false;
    return value === 0 || Object.entries(enumValues).some(([name, n]) => n === 0 && name === value);
  }

  field(field: FieldSchema, raw: unknown, path: string): unknown {
    if (field.map_key !== undefined) {
      if (!isObject(raw))
        return this.problem(path, `a map must be an object, not ${describe(raw)}`);
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(raw)) {
        this.mapKey(field.map_key, key, `${path}[${JSON.stringify(key)}]`);
        const read = this.single(field.type, value, `${path}[${JSON.stringify(key)}]`);
        if (read !== undefined) out[key] = read;
      }
      return out;
    }
    if (field.label === "repeated") {
      if (!Array.isArray(raw)) {
        return this.problem(path, `a repeated field must be an array, not ${describe(raw)}`);
      }
      const out: unknown[] = [];
      raw.forEach((item, index) => {
        const read = this.single(field.type, item, `${path}[${index}]`);
        if (read !== undefined) out.push(read);
      });
      return out;
    }
    return this.single(field.type, raw, path);
  }

  mapKey(keyType: string, key: string, path: string): void {
    if (keyType === "string") return;
    if (keyType === "bool") {
      if (key !== "true" && key !== "false")
        this.problem(path, "a bool map key must be true/false");
      return;
    }
    if (!/^-?\d+$/.test(key)) this.problem(path, `a ${keyType} map key must be an integer`);
  }

  /** One value (not a list or map) of `type`. */
  single(type: string, raw: unknown, path: string): unknown {
    if (raw === null) return this.problem(path, "null is not allowed inside a list or map");
    if (SCALAR_TYPES.has(type)) return this.scalar(type, raw, path);
    if (type === "google.protobuf.Timestamp") {
      const pattern = this.mode === "response" ? TIMESTAMP_WRITTEN : TIMESTAMP_ACCEPTED;
      if (typeof raw !== "string" || !pattern.test(raw) || Number.isNaN(Date.parse(raw))) {
        return this.problem(path, `a Timestamp must be an RFC 3339 string, not ${describe(raw)}`);
      }
      return raw;
    }
    if (type === "google.protobuf.Duration") {
      if (typeof raw !== "string" || !DURATION.test(raw)) {
        return this.problem(path, `a Duration must be a string like "1.5s", not ${describe(raw)}`);
      }
      return raw;
    }
    if (type === "google.protobuf.Any") {
      if (!isObject(raw) || typeof raw["@type"] !== "string") {
        return this.problem(path, 'an Any must be an object with "@type"');
      }
      return raw;
    }
    const enumSchema = this.schema.enums[type];
    if (enumSchema) return this.enumValue(type, enumSchema.values, raw, path);
    if (this.schema.messages[type]) return this.message(type, raw, path);
    // Unresolved (not vendored): kept as sent.
    return raw;
  }

  enumValue(type: string, values: Record<string, number>, raw: unknown, path: string): unknown {
    if (typeof raw === "string") {
      if (Object.hasOwn(values, raw)) return raw;
      return this.problem(path, `${JSON.stringify(raw)} is not a value of ${type}`);
    }
    if (typeof raw === "number" && Number.isInteger(raw)) {
      const name = Object.entries(values).find(([, number]) => number === raw)?.[0];
      if (this.mode === "response" && name !== undefined) {
        return this.problem(path, `protojson writes ${type} by name (${name}), not as ${raw}`);
      }
      // An open enum keeps numbers it does not know.
      return name ?? raw;
    }
    return this.problem(path, `a ${type} must be a name or a number, not ${describe(raw)}`);
  }

  scalar(type: string, raw: unknown, path: string): unknown {
    const wrong = (expected: string) =>
      this.problem(path, `a ${type} must be ${expected}, not ${describe(raw)}`);
    if (type === "string") return typeof raw === "string" ? raw : wrong("a string");
    if (type === "bool") return typeof raw === "boolean" ? raw : wrong("true or false");
    if (type === "bytes") {
      return typeof raw === "string" && BASE64.test(raw) ? raw : wrong("a base64 string");
    }
    if (FLOAT_KINDS.has(type)) {
      if (typeof raw === "number") return raw;
      if (typeof raw === "string" && ["NaN", "Infinity", "-Infinity"].includes(raw)) return raw;
      if (this.mode !== "response" && typeof raw === "string" && raw.trim() !== "") {
        const number = Number(raw);
        if (Number.isFinite(number)) return number;
      }
      return wrong("a number");
    }
    const is64 = INT64_KINDS.has(type) || UINT64_KINDS.has(type);
    const unsigned = UINT32_KINDS.has(type) || UINT64_KINDS.has(type);
    if (!is64 && !INT32_KINDS.has(type) && !UINT32_KINDS.has(type)) {
      return this.problem(path, `unknown scalar type ${type}`);
    }
    let integer: bigint;
    if (typeof raw === "number") {
      if (!Number.isInteger(raw)) return wrong("an integer");
      if (this.mode === "response" && is64)
        return wrong("a decimal string (protojson quotes 64-bit ints)");
      integer = BigInt(raw);
    } else if (typeof raw === "string" && /^-?\d+$/.test(raw)) {
      if (this.mode === "response" && !is64)
        return wrong("a number (protojson writes 32-bit ints as numbers)");
      integer = BigInt(raw);
    } else {
      return wrong("an integer");
    }
    const bits = is64 ? 64n : 32n;
    const min = unsigned ? 0n : -(2n ** (bits - 1n));
    const max = unsigned ? 2n ** bits - 1n : 2n ** (bits - 1n) - 1n;
    if (integer < min || integer > max) return wrong(`within ${min}..${max}`);
    return is64 ? integer.toString() : Number(integer);
  }
}

/** Reads `json` as a `typeName` message under `mode`; see JsonMode. */
export function readMessage(
  typeName: string,
  json: unknown,
  mode: JsonMode,
  schema: ProtoSchema = PROTO_SCHEMA,
): ReadResult {
  const reader = new Reader(schema, mode);
  const value = reader.message(typeName, json, "") ?? {};
  return { value, problems: reader.problems };
}

/** A copy of `json` (a `typeName` message) with every secret field's text replaced. */
export function redactSecrets(
  typeName: string,
  json: unknown,
  schema: ProtoSchema = PROTO_SCHEMA,
): unknown {
  const message: MessageSchema | undefined = schema.messages[typeName];
  if (!message || !isObject(json)) return json;
  const fieldFor = (key: string): FieldSchema | undefined =>
    message.fields[key] ?? Object.values(message.fields).find((field) => field.json_name === key);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = fieldFor(key);
    if (!field) {
      out[key] = value;
    } else if (field.secret && typeof value === "string" && value !== "") {
      out[key] = SECRET_PLACEHOLDER;
    } else if (field.map_key !== undefined && isObject(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, redactSecrets(field.type, v, schema)]),
      );
    } else if (Array.isArray(value)) {
      out[key] = value.map((item) => redactSecrets(field.type, item, schema));
    } else {
      out[key] = redactSecrets(field.type, value, schema);
    }
  }
  return out;
}

/** The method's input and output message names, or null when the schema has no such method. */
export function methodTypes(
  service: string,
  method: string,
  schema: ProtoSchema = PROTO_SCHEMA,
): { input: string; output: string } | null {
  const methods = Object.hasOwn(schema.services, service) ? schema.services[service] : undefined;
  if (!methods || !Object.hasOwn(methods, method)) return null;
  return methods[method] ?? null;
}
