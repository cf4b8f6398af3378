// The stack alone, for the module-evaluation figure `eval_ms.stack_floor`: Hono (hono/tiny,
// as the API), the one validation hook (@hono/zod-validator with zod/mini), the request
// schemas, and the API's routes with handlers that only echo what they validated. No D1, no
// Durable Object, no carrier, none of the API's own work: what any Worker that validates this
// contract's input with the fixed stack pays at cold start, set against hello in the same run.
// Evaluated only (bench/lib/eval.mjs), never served.
import { Hono } from "hono/tiny";
import { validate } from "../../src/http/validation";
import {
  ImportPhoneNumberRequestSchema,
  PurchasePhoneNumberRequestSchema,
  SearchAvailablePhoneNumbersQuerySchema,
  UpdatePhoneNumberRequestSchema,
} from "../../src/schemas/requests";

const phoneNumbers = new Hono()
  .get("/available", validate("query", SearchAvailablePhoneNumbersQuerySchema), (c) =>
    c.json(c.req.valid("query")),
  )
  .post("/purchase", validate("json", PurchasePhoneNumberRequestSchema), (c) =>
    c.json(c.req.valid("json"), 201),
  )
  .post("/", validate("json", ImportPhoneNumberRequestSchema), (c) =>
    c.json(c.req.valid("json"), 201),
  )
  .get("/", (c) => c.json({ numbers: [] }))
  .get("/:id", (c) => c.json({ id: c.req.param("id") }))
  .patch("/:id", validate("json", UpdatePhoneNumberRequestSchema), (c) =>
    c.json(c.req.valid("json")),
  )
  .delete("/:id", (c) => c.body(null, 204));

const app = new Hono();
app.route("/v1/agents/phone-numbers", phoneNumbers);

export default app;
