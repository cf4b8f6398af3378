// Checks recorded Twilio exchanges against Twilio's own OpenAPI descriptions (twilio-oai), so a
// client that passes its tests against the stand-in also speaks the live API's language, and the
// stand-in itself cannot drift from what Twilio documents. Paths under /v1/ are checked against
// the trunking v1 spec, every other path against the 2010-04-01 one.
//
// The specs are OpenAPI 3.0 and describe the live API imperfectly (see ../../spec/twilio/
// README.md). Where the live API is known to differ, the difference is written down below in
// LIVE_API_DEVIATIONS rather than silently loosening the whole check.

import { type OutputUnit, type Schema, Validator } from "@cfworker/json-schema";
import apiSpec from "../../spec/twilio/twilio_api_v2010.json";
import trunkingSpec from "../../spec/twilio/twilio_trunking_v1.json";
import type { TwilioRequestLogEntry } from "./types";

/** The parts of a log entry the checks read; entries recorded elsewhere may omit `auth`. */
export type ContractEntry = Pick<
  TwilioRequestLogEntry,
  "method" | "path" | "query" | "form" | "content_type" | "status" | "response"
> & { auth?: TwilioRequestLogEntry["auth"] };

interface OpenApiSchema {
  $ref?: string;
  type?: string;
  format?: string;
  nullable?: boolean;
  enum?: unknown[];
  pattern?: string;
  properties?: Record<string, OpenApiSchema>;
  items?: OpenApiSchema;
  required?: string[];
  [keyword: string]: unknown;
}

interface OpenApiParameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: OpenApiSchema;
}

interface OpenApiOperation {
  parameters?: OpenApiParameter[];
  requestBody?: { content?: Record<string, { schema?: OpenApiSchema }> };
  responses?: Record<string, { content?: Record<string, { schema?: OpenApiSchema }> }>;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, OpenApiSchema> };
}

const FORM_CONTENT_TYPE = "application/x-www-form-urlencoded";
const E164 = /^\+[1-9]\d{1,14}$/;
const RFC_2822 =
  "^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \\d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \\d{4} \\d{2}:\\d{2}:\\d{2} [+-]\\d{4}$";
// The v1 APIs' dates: "2015-01-02T11:23:45Z".
const ISO_8601 = "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$";
const DECIMAL_STRING = "^-?\\d+(\\.\\d+)?$";

/**
 * Rules Twilio documents in prose but the spec cannot express, keyed by "METHOD template".
 * POST IncomingPhoneNumbers: "You must provide an AreaCode or a PhoneNumber."
 */
const ONE_OF_REQUIRED_FORM_FIELDS: Record<string, string[]> = {
  "POST /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json": ["PhoneNumber", "AreaCode"],
};

/**
 * Where live responses differ from the spec's schemas, keyed by component schema name or by the
 * inline schema's title, applied after the schema is converted to JSON Schema.
 */
const LIVE_API_DEVIATIONS: Record<string, (schema: Schema) => void> = {
  // The search is not paged: the spec's own examples carry only these two fields, so the paging
  // fields it also lists cannot be relied on (the stand-in sends them all the same).
  ListAvailablePhoneNumberLocalResponse: (schema) => {
    schema.required = ["available_phone_numbers", "uri"];
  },
  "api.v2010.account.available_phone_number_country.available_phone_number_local": (schema) => {
    const properties = schema.properties as Record<string, Schema>;
    // Live: "(808) 925-1571", although the spec marks it format phone-number.
    properties.friendly_name = { type: ["string", "null"] };
    // Live: "19.720000" (the spec's own example), although the spec says number.
    properties.latitude = { type: ["string", "number", "null"], pattern: DECIMAL_STRING };
    properties.longitude = { type: ["string", "number", "null"], pattern: DECIMAL_STRING };
  },
};

// ---- Spec lookup -----------------------------------------------------------------------------

interface PathTemplate {
  template: string;
  regex: RegExp;
  parameterNames: string[];
}

interface Spec {
  /** Tells validators of the two documents apart in the cache. */
  name: string;
  document: OpenApiDocument;
  pathTemplates: PathTemplate[];
}

function loadSpec(name: string, json: unknown): Spec {
  const document = json as OpenApiDocument;
  const pathTemplates = Object.keys(document.paths)
    .map((template) => {
      const parameterNames: string[] = [];
      const source = template
        .split(/(\{[^}]+\})/)
        .map((part) => {
          const parameter = /^\{([^}]+)\}$/.exec(part)?.[1];
          if (parameter === undefined) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
          parameterNames.push(parameter);
          return "([^/]+)";
        })
        .join("");
      return { template, regex: new RegExp(`^${source}$`), parameterNames };
    })
    // Literal segments beat parameters: IncomingPhoneNumbers/Local.json is not a {Sid}.
    .sort((a, b) => a.parameterNames.length - b.parameterNames.length);
  return { name, document, pathTemplates };
}

const API_SPEC = loadSpec("api_v2010", apiSpec);
const TRUNKING_SPEC = loadSpec("trunking_v1", trunkingSpec);

/** trunking.twilio.com's paths start with /v1/; api.twilio.com's with /2010-04-01/. */
function specFor(path: string): Spec {
  return path.startsWith("/v1/") ? TRUNKING_SPEC : API_SPEC;
}

interface MatchedOperation {
  spec: Spec;
  template: string;
  operation: OpenApiOperation | null;
  pathValues: Record<string, string>;
}

function matchOperation(method: string, path: string): MatchedOperation | null {
  const spec = specFor(path);
  for (const candidate of spec.pathTemplates) {
    const match = candidate.regex.exec(path);
    if (!match) continue;
    const pathValues: Record<string, string> = {};
    candidate.parameterNames.forEach((name, index) => {
      pathValues[name] = decodeURIComponent(match[index + 1] ?? "");
    });
    const pathItem = spec.document.paths[candidate.template] ?? {};
    const verb = method.toLowerCase();
    const operation = Object.hasOwn(pathItem, verb) ? pathItem[verb] : undefined;
    return {
      spec,
      template: candidate.template,
      operation: (operation as OpenApiOperation | undefined) ?? null,
      pathValues,
    };
  }
  return null;
}

function resolveRef(
  spec: Spec,
  schema: OpenApiSchema,
): { schema: OpenApiSchema; name: string | null } {
  if (schema.$ref === undefined) return { schema, name: null };
  const name = schema.$ref.replace(/^#\/components\/schemas\//, "");
  const target = spec.document.components.schemas[name];
  if (!target) throw new Error(`twilio spec: unresolved $ref ${schema.$ref}`);
  return { schema: target, name };
}

// ---- OpenAPI 3.0 -> JSON Schema ------------------------------------------------------------

type Direction = "request" | "response";

/**
 * Inlines $refs, turns `nullable` into a "null" type, and maps Twilio's custom formats onto
 * checks the validator can run. In responses every declared property is required: Twilio
 * serializes every field (null when unset), so an absent one means a mismatched model.
 */
function toJsonSchema(spec: Spec, source: OpenApiSchema, direction: Direction, depth = 0): Schema {
  if (depth > 32) throw new Error("twilio spec: schema nesting too deep (recursive $ref?)");
  const { schema: openApi, name } = resolveRef(spec, source);
  const out: Schema = {};
  for (const [keyword, value] of Object.entries(openApi)) {
    if (
      keyword.startsWith("x-") ||
      ["description", "example", "examples", "title", "nullable", "format"].includes(keyword)
    ) {
      continue;
    }
    if (keyword === "properties" && value && typeof value === "object") {
      const properties: Record<string, Schema> = {};
      for (const [property, propertySchema] of Object.entries(
        value as Record<string, OpenApiSchema>,
      )) {
        properties[property] = toJsonSchema(spec, propertySchema, direction, depth + 1);
      }
      out.properties = properties;
    } else if (keyword === "items" && value && typeof value === "object") {
      out.items = toJsonSchema(spec, value as OpenApiSchema, direction, depth + 1);
    } else {
      out[keyword] = value;
    }
  }

  const format = openApi.format;
  if (format === "uri") {
    // Requests carry absolute URLs (checked separately); responses carry Twilio's relative URIs.
    if (direction === "response") out.format = "uri-reference";
  } else if (format === "date-time-rfc-2822") {
    out.pattern = RFC_2822;
  } else if (format === "date-time") {
    out.pattern = ISO_8601;
  } else if (format === "phone-number") {
    out.pattern = E164.source;
  } else if (format === "iso-country-code") {
    out.pattern = "^[A-Z]{2}$";
  } else if (format === "phone-number-capabilities") {
    // Capability keys are `SMS`/`MMS` in AvailablePhoneNumbers and `sms`/`mms` elsewhere.
    const properties = (out.properties ?? {}) as Record<string, Schema>;
    out.properties = { ...properties, SMS: { type: "boolean" }, MMS: { type: "boolean" } };
    if (direction === "response") {
      out.required = ["voice"];
      out.allOf = [
        { anyOf: [{ required: ["sms"] }, { required: ["SMS"] }] },
        { anyOf: [{ required: ["mms"] }, { required: ["MMS"] }] },
      ];
    }
  }

  if (
    direction === "response" &&
    format !== "phone-number-capabilities" &&
    out.properties &&
    out.required === undefined
  ) {
    out.required = Object.keys(out.properties);
  }

  if (openApi.nullable === true) {
    if (typeof out.type === "string") out.type = [out.type, "null"];
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
  }
  const deviationKey = name ?? (typeof openApi.title === "string" ? openApi.title : null);
  if (deviationKey !== null && Object.hasOwn(LIVE_API_DEVIATIONS, deviationKey)) {
    LIVE_API_DEVIATIONS[deviationKey]?.(out);
  }
  return out;
}

const validatorCache = new Map<string, Validator>();

function validatorFor(key: string, schema: () => Schema): Validator {
  let validator = validatorCache.get(key);
  if (!validator) {
    validator = new Validator(schema(), "2019-09", false);
    validatorCache.set(key, validator);
  }
  return validator;
}

function describeErrors(errors: OutputUnit[]): string[] {
  // Keep the leaf complaints; the validator also reports each enclosing schema that failed.
  const summaries = new Set(["properties", "items", "allOf", "anyOf", "$ref"]);
  const leaves = errors.filter((error) => !summaries.has(error.keyword));
  const chosen = leaves.length > 0 ? leaves : errors;
  return [...new Set(chosen.map((error) => `${error.instanceLocation}: ${error.error}`))];
}

// ---- Request checks ----------------------------------------------------------------------

/** Parses a query/form string the way Twilio would for the declared type, or explains why not. */
function coerce(raw: string, schema: OpenApiSchema): { value: unknown } | { problem: string } {
  switch (schema.type) {
    case "integer":
      return /^-?\d+$/.test(raw.trim()) ? { value: Number(raw) } : { problem: "is not an integer" };
    case "number":
      return raw.trim() !== "" && Number.isFinite(Number(raw))
        ? { value: Number(raw) }
        : { problem: "is not a number" };
    case "boolean":
      return /^(true|false)$/i.test(raw)
        ? { value: raw.toLowerCase() === "true" }
        : { problem: "is not true/false" };
    default:
      return { value: raw };
  }
}

function checkValue(
  spec: Spec,
  request: string,
  where: string,
  raw: string,
  declared: OpenApiSchema,
): string[] {
  const { schema } = resolveRef(spec, declared);
  const shown = `${request}: ${where}=${JSON.stringify(raw)}`;
  const coerced = coerce(raw, schema);
  if ("problem" in coerced) return [`${shown} ${coerced.problem}`];
  const problems: string[] = [];
  if (schema.format === "phone-number" && !E164.test(raw)) {
    problems.push(
      `${shown} is not E.164 (like +14155550123)${raw.startsWith(" ") ? '; a "+" must be sent as %2B' : ""}`,
    );
  }
  if (schema.format === "uri") {
    try {
      new URL(raw);
    } catch {
      problems.push(`${shown} is not an absolute URI`);
    }
  }
  const key = `${spec.name} value:${JSON.stringify(declared)}`;
  const result = validatorFor(key, () => toJsonSchema(spec, declared, "request")).validate(
    coerced.value,
  );
  if (!result.valid) {
    problems.push(
      ...describeErrors(result.errors).map((error) => `${shown}: ${error.replace(/^#: /, "")}`),
    );
  }
  return problems;
}

/** Problems with how a recorded request used Twilio's API; empty when it matches the spec. */
export function checkTwilioRequest(entry: ContractEntry): string[] {
  const request = `${entry.method} ${entry.path}`;
  const matched = matchOperation(entry.method, entry.path);
  if (!matched) return [`${request}: no path in the Twilio spec matches`];
  if (!matched.operation) {
    return [`${request}: the spec has no ${entry.method} for ${matched.template}`];
  }
  const { spec, operation, template } = matched;
  const problems: string[] = [];
  const parameters = operation.parameters ?? [];

  if (entry.auth === "none") {
    problems.push(`${request}: sent without Basic credentials, which every operation requires`);
  }

  for (const parameter of parameters.filter((p) => p.in === "path")) {
    const value = matched.pathValues[parameter.name];
    if (value !== undefined && parameter.schema) {
      problems.push(
        ...checkValue(spec, request, `path ${parameter.name}`, value, parameter.schema),
      );
    }
  }

  const queryParameters = new Map(
    parameters.filter((p) => p.in === "query").map((p) => [p.name, p]),
  );
  for (const [name, value] of Object.entries(entry.query)) {
    const declared = queryParameters.get(name);
    if (!declared) {
      problems.push(
        `${request}: query parameter ${name} is not declared for ${entry.method} ${template}`,
      );
    } else if (declared.schema) {
      problems.push(...checkValue(spec, request, `query ${name}`, value, declared.schema));
    }
  }
  for (const [name, declared] of queryParameters) {
    if (declared.required && entry.query[name] === undefined) {
      problems.push(`${request}: required query parameter ${name} is missing`);
    }
  }

  const bodyContent = operation.requestBody?.content;
  if (!bodyContent) {
    if (entry.form && Object.keys(entry.form).length > 0) {
      problems.push(`${request}: sent a form body, but ${entry.method} ${template} takes none`);
    }
    return problems;
  }

  const formSchema = bodyContent[FORM_CONTENT_TYPE]?.schema;
  const mediaType = entry.content_type?.split(";")[0]?.trim().toLowerCase() ?? null;
  if (mediaType !== FORM_CONTENT_TYPE) {
    problems.push(
      `${request}: body must be sent as ${FORM_CONTENT_TYPE}, was ${entry.content_type ?? "no Content-Type"}`,
    );
  }
  const form = entry.form ?? {};
  const { schema: resolvedFormSchema } = formSchema
    ? resolveRef(spec, formSchema)
    : { schema: {} as OpenApiSchema };
  const fields = resolvedFormSchema.properties ?? {};
  for (const [name, value] of Object.entries(form)) {
    const declared = fields[name];
    if (declared) {
      problems.push(...checkValue(spec, request, `form ${name}`, value, declared));
    } else {
      problems.push(
        `${request}: form field ${name} is not declared for ${entry.method} ${template}`,
      );
    }
  }
  for (const name of resolvedFormSchema.required ?? []) {
    if (form[name] === undefined) {
      problems.push(`${request}: required form field ${name} is missing`);
    }
  }
  const oneOf = ONE_OF_REQUIRED_FORM_FIELDS[`${entry.method.toUpperCase()} ${template}`];
  if (oneOf && !oneOf.some((name) => form[name] !== undefined)) {
    problems.push(`${request}: needs one of the form fields ${oneOf.join(", ")}`);
  }
  return problems;
}

// ---- Response checks ---------------------------------------------------------------------

const ERROR_BODY_SCHEMA: Schema = {
  type: "object",
  required: ["code", "message", "more_info", "status"],
  properties: {
    code: { type: "integer" },
    message: { type: "string" },
    more_info: { type: "string", format: "uri" },
    status: { type: "integer" },
  },
};
const errorValidator = new Validator(ERROR_BODY_SCHEMA, "2019-09", false);

/** Problems with a recorded response body; empty when it matches the spec (or Twilio's error shape). */
export function checkTwilioResponse(entry: ContractEntry): string[] {
  const request = `${entry.method} ${entry.path} -> ${entry.status}`;
  // A dropped connection delivered nothing, so there is nothing to hold against the spec.
  if (entry.status === 0) return [];

  if (entry.status >= 400) {
    // Live: a 5xx may come from Twilio's edge as an HTML page rather than Twilio's JSON.
    if (entry.status >= 500 && typeof entry.response === "string") return [];
    const result = errorValidator.validate(entry.response ?? null);
    const problems = result.valid
      ? []
      : describeErrors(result.errors).map((error) => `${request}: error body ${error}`);
    const body = entry.response as { status?: unknown } | null;
    if (result.valid && body?.status !== entry.status) {
      problems.push(`${request}: error body says status ${String(body?.status)}`);
    }
    return problems;
  }

  const matched = matchOperation(entry.method, entry.path);
  if (!matched?.operation) return [`${request}: the spec has no such operation`];
  const documented = matched.operation.responses?.[String(entry.status)];
  if (!documented) {
    const statuses = Object.keys(matched.operation.responses ?? {}).join(", ");
    return [
      `${request}: the spec documents only ${statuses} for ${entry.method} ${matched.template}`,
    ];
  }
  const schema = documented.content?.["application/json"]?.schema;
  if (!schema) {
    return entry.response === null || entry.response === undefined
      ? []
      : [
          `${request}: the spec documents an empty body, got ${JSON.stringify(entry.response).slice(0, 80)}`,
        ];
  }
  const key = `${matched.spec.name} response:${entry.method} ${matched.template} ${entry.status}`;
  const result = validatorFor(key, () => toJsonSchema(matched.spec, schema, "response")).validate(
    entry.response ?? null,
  );
  return result.valid ? [] : describeErrors(result.errors).map((error) => `${request}: ${error}`);
}
