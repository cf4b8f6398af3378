import { Validator } from "@cfworker/json-schema";
import { expect } from "vitest";
import spec from "../../spec/speechify/openapi-phone-numbers.json";

type Schema = Record<string, unknown>;

/**
 * The published contract, with one allowance: a property the spec does not require may be
 * null (we send every field, null when empty, where the spec leaves optional ones out).
 */
function allowNullOptionals(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(allowNullOptionals);
  if (!schema || typeof schema !== "object") return schema;
  const copy: Schema = {};
  for (const [key, value] of Object.entries(schema)) copy[key] = allowNullOptionals(value);
  if (copy.type === "object" && copy.properties && typeof copy.properties === "object") {
    const required = new Set((copy.required as string[] | undefined) ?? []);
    const properties = copy.properties as Record<string, Schema>;
    for (const [name, property] of Object.entries(properties)) {
      if (!required.has(name)) properties[name] = { anyOf: [property, { type: "null" }] };
    }
  }
  return copy;
}

const components = allowNullOptionals(spec.components) as Schema;

type Operation = { responses: Record<string, { content?: Record<string, { schema: Schema }> }> };

/** The response schema the published spec gives for this path, method and status. */
export function specResponseSchema(path: string, method: string, status: number): Schema | null {
  const operations = (spec.paths as Record<string, Record<string, Operation>>)[path];
  if (!operations) throw new Error(`the spec has no path ${path}`);
  const operation = operations[method.toLowerCase()];
  if (!operation) throw new Error(`the spec has no ${method} ${path}`);
  const response = operation.responses[String(status)];
  if (!response) throw new Error(`the spec lists no ${status} for ${method} ${path}`);
  return response.content?.["application/json"]?.schema ?? null;
}

/** Fails the test unless the body validates against the published spec's response schema. */
export function expectMatchesSpec(
  path: string,
  method: string,
  status: number,
  body: unknown,
): void {
  const schema = specResponseSchema(path, method, status);
  if (!schema) return;
  const validator = new Validator({ ...schema, components } as never, "2020-12", false);
  const result = validator.validate(body);
  expect(
    result.errors.map((e) => `${e.instanceLocation}: ${e.error}`),
    `${method} ${path} ${status} does not match the published spec`,
  ).toEqual([]);
}
