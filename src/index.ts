import { routePath } from "hono/route";
import { Hono } from "hono/tiny";
import { ApiError } from "./api-error";
import type { AppEnv } from "./app-env";
import { allowedMethodsOf } from "./http/allowed-methods";
import { renderError } from "./http/render-error";
import { log } from "./log";
import { internal } from "./routes/internal";
import { phoneNumbers } from "./routes/phone-numbers";

export { WorkspaceNumbers } from "./durable-objects/workspace-numbers";
export { TwilioGate } from "./twilio/gate";

const app = new Hono<AppEnv>();

// Echo a client's sane X-Request-ID (so its logs and ours share it), else make one.
app.use(async (c, next) => {
  const given = c.req.header("X-Request-ID");
  const id = given && /^[\w=-]{1,255}$/.test(given) ? given : crypto.randomUUID();
  c.set("requestId", id);
  c.header("X-Request-ID", id);
  await next();
});

// One structured line per request, with the upstream calls it made that went well (see
// logUpstreamCall); never headers or bodies, which may hold keys.
app.use(async (c, next) => {
  const started = Date.now();
  await next();
  const upstream = c.get("upstream");
  log.info("request", {
    request_id: c.get("requestId"),
    workspace_id: c.get("caller")?.workspaceId ?? null,
    key_id: c.get("caller")?.keyId ?? null,
    method: c.req.method,
    // The route that answered (after next(), the route index is the responder's): the last
    // matched route would name GET /:id for GET /available.
    route: routePath(c),
    status: c.res.status,
    duration_ms: Date.now() - started,
    ...(upstream && upstream.length > 0 ? { upstream } : {}),
  });
});

const routes = app.route("/v1/agents/phone-numbers", phoneNumbers);
// The generated OpenAPI document, without an API key; other methods get a 405 like any route.
app.get("/openapi.json", (c) => c.env.ASSETS.fetch(c.req.raw));
app.route("/internal", internal);

const allowedMethods = allowedMethodsOf(app.routes);
app.notFound((c) => {
  const allowed = allowedMethods(c.req.path);
  if (allowed.length === 0) {
    return renderError(new ApiError(404, "not_found", "No such route."), c);
  }
  c.header("Allow", allowed.join(", "));
  return renderError(
    new ApiError(405, "method_not_allowed", `Use ${allowed.join(", ")} on this path.`),
    c,
  );
});
app.onError(renderError);

/** For typed clients: `hc<AppType>(baseUrl)` from `hono/client`. */
export type AppType = typeof routes;

export default {
  fetch: app.fetch,
  /**
   * The Cron Trigger (hourly, see wrangler.toml): a reconcile report, never a fix. Each orphan,
   * lost record and number waiting for an operator is logged at error level; fixing stays a
   * person's decision (`npm run admin -- reconcile --fix`).
   */
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(
      // Loaded when the cron fires, not with the module (see WorkspaceNumbers' constructor).
      import("./reconcile")
        .then(({ reconcileTwilioNumbers }) => reconcileTwilioNumbers(env, { fix: false }))
        .then(
          () => undefined,
          (error: unknown) => log.error("scheduled_reconcile_failed", { error: String(error) }),
        ),
    );
  },
} satisfies ExportedHandler<Env>;
