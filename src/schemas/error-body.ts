import * as z from "zod/mini";

/** The published `ErrorCode` enum; codes are additive only, never renamed. */
export const ErrorCodeSchema = z.enum([
  "bad_request",
  "validation_failed",
  "unauthorized",
  "payment_required",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "conflict",
  "payload_too_large",
  "unsupported_media_type",
  "rate_limited",
  "internal_error",
  "upstream_failure",
  "service_unavailable",
  "caller_not_found",
  "credential_not_found",
  "payment_method_required",
]);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

export const ErrorSchema = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    fields: z.optional(z.record(z.string(), z.string())),
  }),
  request_id: z.optional(z.string()),
});
export type ErrorBody = z.infer<typeof ErrorSchema>;
