import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import committed from "../../public/openapi.json";
import { buildOpenApiDocument } from "../../scripts/openapi/document";
import speechify from "../../spec/speechify/openapi-phone-numbers.json";
import { problemsWithResponse } from "../helpers/our-openapi";

type Json = Record<string, unknown>;
type Document = { paths: Record<string, Record<string, Json>>; components: { schemas: Json } };

const ours = committed as unknown as Document;
const theirs = speechify as unknown as Document;
const METHODS = ["get", "post", "put", "patch", "delete"];

/** Operations the published spec has that we do not serve yet, and ours it does not have. */
const NOT_YET: string[] = [];
const OURS_ONLY = ["GET /openapi.json"];
/** Status codes we add to the published ones, each described in the README. */
const EXTRA_STATUSES: Record<string, number[]> = {
  "GET /v1/agents/phone-numbers": [500],
  // 429: the published spec lists no rate limit; ours refuses over the workspace's own.
  "POST /v1/agents/phone-numbers": [409, 413, 415, 422, 429, 500, 503],
  "GET /v1/agents/phone-numbers/available": [429, 500],
  "POST /v1/agents/phone-numbers/purchase": [409, 413, 415, 429, 500],
  "GET /v1/agents/phone-numbers/{id}": [500],
  "PATCH /v1/agents/phone-numbers/{id}": [409, 413, 415, 422, 429, 500, 503],
  "DELETE /v1/agents/phone-numbers/{id}": [400, 409, 429, 500, 503],
};

function operations(document: Document): Map<string, Json> {
  const found = new Map<string, Json>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method] as Json | undefined;
      if (operation) found.set(`${method.toUpperCase()} ${path}`, operation);
    }
  }
  return found;
}

function resolve(document: Document, schema: Json): Json {
  const target = schema.$ref as string | undefined;
  if (!target) return schema;
  const name = target.replace("#/components/schemas/", "");
  return resolve(document, document.components.schemas[name] as Json);
}

function types(schema: Json): Set<string> {
  if (Array.isArray(schema.anyOf)) {
    return new Set((schema.anyOf as Json[]).flatMap((member) => [...types(member)]));
  }
  if (schema.type) return new Set([schema.type].flat() as string[]);
  if (schema.enum) return new Set(["string"]);
  return new Set();
}

/**
 * Where our schema and theirs disagree. "response": ours produces only what theirs allows (our
 * optional fields may be null); "request": ours accepts everything theirs requires.
 */
function disagreements(
  mine: Json,
  published: Json,
  mode: "request" | "response",
  at: string,
): string[] {
  const a = resolve(ours, mine);
  const b = resolve(theirs, published);
  const problems: string[] = [];
  const aTypes = types(a);
  const bTypes = types(b);
  const [narrow, wide] = mode === "response" ? [aTypes, bTypes] : [bTypes, aTypes];
  for (const type of narrow) {
    if (type !== "null" && !wide.has(type) && !(type === "integer" && wide.has("number"))) {
      problems.push(
        `${at}: type ${type} is not allowed by the ${mode === "response" ? "spec" : "API"}`,
      );
    }
  }
  const aEnum = a.enum as string[] | undefined;
  const bEnum = b.enum as string[] | undefined;
  if (aEnum && bEnum) {
    const [small, large] = mode === "response" ? [aEnum, bEnum] : [bEnum, aEnum];
    for (const value of small)
      if (!large.includes(value)) problems.push(`${at}: enum value ${value}`);
  }
  if (a.items && b.items) {
    problems.push(...disagreements(a.items as Json, b.items as Json, mode, `${at}[]`));
  }
  if (a.properties || b.properties) {
    const aProps = (a.properties ?? {}) as Record<string, Json>;
    const bProps = (b.properties ?? {}) as Record<string, Json>;
    const aRequired = new Set((a.required as string[] | undefined) ?? []);
    const bRequired = new Set((b.required as string[] | undefined) ?? []);
    if (mode === "response") {
      for (const name of Object.keys(aProps)) {
        if (!bProps[name]) problems.push(`${at}.${name}: not in the spec`);
      }
      for (const name of bRequired) {
        if (!aRequired.has(name))
          problems.push(`${at}.${name}: required by the spec, optional here`);
      }
      for (const [name, property] of Object.entries(aProps)) {
        if (!bProps[name]) continue;
        if (types(resolve(ours, property)).has("null") && bRequired.has(name)) {
          problems.push(`${at}.${name}: null here, required by the spec`);
        }
      }
    } else {
      for (const name of Object.keys(bProps)) {
        if (!aProps[name]) problems.push(`${at}.${name}: in the spec, refused here`);
      }
      for (const name of aRequired) {
        if (!bRequired.has(name))
          problems.push(`${at}.${name}: required here, optional in the spec`);
      }
    }
    for (const [name, property] of Object.entries(aProps)) {
      const other = bProps[name];
      if (other) problems.push(...disagreements(property, other, mode, `${at}.${name}`));
    }
  }
  return problems;
}

function jsonSchemaOf(operationOrResponse: Json | undefined): Json | undefined {
  const content = operationOrResponse?.content as Record<string, { schema: Json }> | undefined;
  return content?.["application/json"]?.schema;
}

describe("the OpenAPI document", () => {
  it("is served at /openapi.json as a static asset, without an API key", async () => {
    // Workers serve assets before the Worker runs; the binding serves them the same way.
    const response = await env.ASSETS.fetch("http://localhost/openapi.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(committed);
  });

  it("is current: the committed file equals a fresh generation from the zod schemas", () => {
    expect(JSON.parse(JSON.stringify(buildOpenApiDocument()))).toEqual(committed);
  });

  it("has the published spec's operations, import excepted", () => {
    const mine = [...operations(ours).keys()].filter((k) => !OURS_ONLY.includes(k)).sort();
    const published = [...operations(theirs).keys()].filter((k) => !NOT_YET.includes(k)).sort();
    expect(mine).toEqual(published);
  });

  it("has every published status code, plus only the documented extras", () => {
    const mine = operations(ours);
    for (const [key, operation] of operations(theirs)) {
      if (NOT_YET.includes(key)) continue;
      const published = Object.keys(operation.responses as Json).map(Number);
      const served = Object.keys((mine.get(key)?.responses ?? {}) as Json).map(Number);
      expect(served, key).toEqual(expect.arrayContaining(published));
      const extras = served.filter((s) => !published.includes(s)).sort();
      expect(extras, key).toEqual(EXTRA_STATUSES[key]);
    }
  });

  it("accepts what the published request bodies require and produces only what their responses allow", () => {
    const mine = operations(ours);
    const problems: string[] = [];
    for (const [key, operation] of operations(theirs)) {
      if (NOT_YET.includes(key)) continue;
      const ourOperation = mine.get(key) as Json;
      const theirBody = jsonSchemaOf(operation.requestBody as Json);
      const ourBody = jsonSchemaOf(ourOperation.requestBody as Json);
      if (theirBody && ourBody)
        problems.push(...disagreements(ourBody, theirBody, "request", `${key} body`));
      for (const [status, response] of Object.entries(
        operation.responses as Record<string, Json>,
      )) {
        const theirSchema = jsonSchemaOf(response);
        const ourSchema = jsonSchemaOf((ourOperation.responses as Record<string, Json>)[status]);
        if (theirSchema && ourSchema && !(status === "204")) {
          problems.push(...disagreements(ourSchema, theirSchema, "response", `${key} ${status}`));
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("catches a response shape it does not describe (the check can fail)", () => {
    const wrong = JSON.stringify({ numbers: [{ id: "phone_x", e164: 5 }] });
    expect(
      problemsWithResponse("GET", "http://localhost/v1/agents/phone-numbers", 200, wrong),
    ).not.toEqual([]);
    expect(
      problemsWithResponse("GET", "http://localhost/v1/agents/phone-numbers", 418, "{}"),
    ).not.toEqual([]);
  });

  it("catches a schema that disagrees with the published one (the comparison can fail)", () => {
    const mine: Json = {
      type: "object",
      properties: { id: { type: "integer" }, extra: { type: "string" } },
    };
    const published: Json = {
      type: "object",
      properties: { id: { type: "string" } },
      required: ["id"],
    };
    expect(disagreements(mine, published, "response", "x")).toEqual([
      "x.extra: not in the spec",
      "x.id: required by the spec, optional here",
      "x.id: type integer is not allowed by the spec",
    ]);
  });
});
