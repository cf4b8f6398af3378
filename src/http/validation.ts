import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type * as z from "zod/mini";
import { ApiError } from "../api-error";
import { IMMUTABLE_FIELDS } from "../schemas/requests";

type Issue = { path: PropertyKey[]; message: string; code?: string; keys?: string[] };

/**
 * zod issues as the envelope's `fields`: dotted path -> short message. Built as entries, so
 * that a field named `__proto__` is named too (an assignment would set the prototype instead).
 */
export function issuesToFields(issues: readonly Issue[]): Record<string, string> {
  const fields = new Map<string, string>();
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys" && issue.keys) {
      for (const key of issue.keys) {
        fields.set(
          key,
          (IMMUTABLE_FIELDS as readonly string[]).includes(key)
            ? "cannot be changed"
            : "is not a known field",
        );
      }
      continue;
    }
    const path = issue.path.map(String).join(".") || "body";
    if (!fields.has(path)) fields.set(path, issue.message);
  }
  return Object.fromEntries(fields);
}

/** The one validation hook: every invalid input becomes 400 `validation_failed`. */
export function validate<T extends z.ZodMiniType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
) {
  return zValidator(target, schema, (result) => {
    if (!result.success) {
      throw new ApiError(
        400,
        "validation_failed",
        `Invalid ${target === "json" ? "body" : target}.`,
        {
          fields: issuesToFields(result.error.issues as readonly Issue[]),
        },
      );
    }
  });
}
