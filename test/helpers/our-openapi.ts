import { Validator } from "@cfworker/json-schema";
import document from "../../public/openapi.json";

type Json = Record<string, unknown>;
type Operation = { responses: Record<string, { content?: Record<string, { schema: Json }> }> };

const paths = document.paths as unknown as Record<string, Record<string, Operation>>;
const templates = Object.keys(paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`),
}));
const validators = new Map<string, Validator>();

function validatorFor(key: string, schema: Json): Validator {
  let validator = validators.get(key);
  if (!validator) {
    validator = new Validator(
      { ...schema, components: document.components } as never,
      "2020-12",
      false,
    );
    validators.set(key, validator);
  }
  return validator;
}

/**
 * What is wrong with a response, judged by our own OpenAPI document: an undocumented status, or
 * a body its schema does not allow. Paths and methods the document does not describe (unknown
 * routes, operator endpoints) are not judged.
 */
export function problemsWithResponse(
  method: string,
  url: string,
  status: number,
  bodyText: string,
): string[] {
  const { pathname } = new URL(url);
  const match = templates.find((t) => t.pattern.test(pathname));
  const operation = match ? paths[match.template]?.[method.toLowerCase()] : undefined;
  if (!match || !operation) return [];
  const where = `${method} ${match.template} ${status}`;
  const response = operation.responses[String(status)];
  if (!response) return [`${where}: status not in the OpenAPI document`];
  const schema = response.content?.["application/json"]?.schema;
  if (!schema) return bodyText === "" ? [] : [`${where}: documented without a body, got one`];
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return [`${where}: body is not JSON`];
  }
  const result = validatorFor(where, schema).validate(body);
  return result.errors.map((e) => `${where}: ${e.instanceLocation} ${e.error}`);
}
