// Operator commands, run with `npm run --silent admin -- <command>`. Each prints one JSON
// object on stdout. They run against the local D1 of `npm run dev`, or with --remote against
// the deployed database (wrangler's --env production).
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { generateApiKey, hashApiKey } from "../src/auth/api-keys";
import { newId } from "../src/ids";

const USAGE = `usage:
  admin workspaces create --name NAME [--purchased-limit N] [--search-rate N] [--write-rate N] [--remote]
  admin workspaces update --workspace WS_ID [--search-rate N|default] [--write-rate N|default] [--remote]
      (rates are a minute; "default" (or "null") goes back to the deployment's default)
  admin keys create --workspace WS_ID [--remote]
  admin keys revoke KEY_ID [--remote]
  admin agents create --workspace WS_ID --name NAME [--agent-name LIVEKIT_AGENT_NAME] [--remote]
  admin trunks create --workspace WS_ID --address HOST [--username U --password P] [--remote]
  admin reconcile [--fix] [--remote]   (local: needs npm run dev; remote: PHONE_NUMBERS_API_URL and ADMIN_TOKEN)`;

class UsageError extends Error {}

// The local operator token of `npm run dev` (wrangler.toml's top-level ADMIN_TOKEN var).
const LOCAL_ADMIN_TOKEN = "local-admin-token";

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: "string" },
    workspace: { type: "string" },
    "purchased-limit": { type: "string" },
    "trunk-id": { type: "string" },
    "agent-name": { type: "string" },
    "search-rate": { type: "string" },
    "write-rate": { type: "string" },
    remote: { type: "boolean", default: false },
    fix: { type: "boolean", default: false },
    address: { type: "string" },
    username: { type: "string" },
    password: { type: "string" },
  },
});

/** A SQL string literal. wrangler d1 execute takes no bound parameters. */
function literal(value: string | number | null): string {
  if (value === null) return "NULL";
  if (typeof value === "number") return String(value);
  return `'${value.replace(/'/g, "''")}'`;
}

type D1Result = { results: Record<string, unknown>[] };

function d1(sql: string): D1Result[] {
  const args = ["d1", "execute", "DB", "--json", "--command", sql];
  args.push(...(options.remote ? ["--remote", "--env", "production"] : ["--local"]));
  const out = execFileSync("wrangler", args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return JSON.parse(out) as D1Result[];
}

/** Rows a write touched, from its RETURNING clause (local D1 reports no change counts). */
function returned(results: D1Result[]): number {
  return results.reduce((sum, r) => sum + r.results.length, 0);
}

function required(name: "name" | "workspace"): string {
  const value = options[name];
  if (!value) throw new UsageError(`--${name} is required`);
  return value;
}

/** A call to the Worker's operator endpoints (/internal/...), with the operator token. */
async function internal(path: string, body: unknown): Promise<unknown> {
  const base = options.remote
    ? process.env.PHONE_NUMBERS_API_URL
    : (process.env.PHONE_NUMBERS_API_URL ?? "http://localhost:8787");
  const token = options.remote
    ? process.env.ADMIN_TOKEN
    : (process.env.ADMIN_TOKEN ?? LOCAL_ADMIN_TOKEN);
  if (!base || !token) throw new UsageError("--remote needs PHONE_NUMBERS_API_URL and ADMIN_TOKEN");
  const response = await fetch(`${base}/internal/${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok)
    throw new Error(`${path} failed (${response.status}): ${JSON.stringify(answer)}`);
  return answer;
}

/**
 * A workspace's own rate (a minute) from `--search-rate` or `--write-rate`: a whole number above
 * 0, or "default" / "null" for the deployment's default (NULL); undefined when not given.
 */
function rateOption(name: "search-rate" | "write-rate"): number | null | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (value === "default" || value === "null") return null;
  const rate = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(rate) || rate < 1) {
    throw new UsageError(`--${name} must be a whole number above 0, or "default"`);
  }
  return rate;
}

/** The columns a workspace is shown with. */
const WORKSPACE_COLUMNS =
  "id, name, purchased_number_limit, search_rate_per_minute, write_rate_per_minute, created_at";

async function run(): Promise<unknown> {
  const [resource, action, argument] = positionals;
  const now = new Date().toISOString();

  if (resource === "workspaces" && action === "create") {
    const name = required("name");
    const limitText = options["purchased-limit"];
    const limit = limitText === undefined ? null : Number(limitText);
    if (limit !== null && (!Number.isInteger(limit) || limit < 0)) {
      throw new UsageError("--purchased-limit must be a whole number");
    }
    if (options["trunk-id"] !== undefined) {
      // A workspace's shared outbound trunk is created by the service, with its first number.
      throw new UsageError(
        "--trunk-id is gone: the service creates each workspace's outbound trunk when it buys the workspace's first number",
      );
    }
    const searchRate = rateOption("search-rate") ?? null;
    const writeRate = rateOption("write-rate") ?? null;
    const id = newId("ws");
    d1(
      `INSERT INTO workspaces (id, name, purchased_number_limit, search_rate_per_minute,
         write_rate_per_minute, created_at)
       VALUES (${literal(id)}, ${literal(name)}, ${literal(limit)}, ${literal(searchRate)},
         ${literal(writeRate)}, ${literal(now)})`,
    );
    return {
      id,
      name,
      purchased_number_limit: limit,
      search_rate_per_minute: searchRate,
      write_rate_per_minute: writeRate,
      created_at: now,
    };
  }
  if (resource === "workspaces" && action === "update") {
    const workspaceId = required("workspace");
    const changes: string[] = [];
    const searchRate = rateOption("search-rate");
    const writeRate = rateOption("write-rate");
    if (searchRate !== undefined) changes.push(`search_rate_per_minute = ${literal(searchRate)}`);
    if (writeRate !== undefined) changes.push(`write_rate_per_minute = ${literal(writeRate)}`);
    if (changes.length === 0) {
      throw new UsageError("workspaces update needs --search-rate or --write-rate");
    }
    const [row] = d1(
      `UPDATE workspaces SET ${changes.join(", ")} WHERE id = ${literal(workspaceId)}
       RETURNING ${WORKSPACE_COLUMNS}`,
    ).flatMap((r) => r.results);
    if (!row) throw new Error(`no workspace ${workspaceId}`);
    return row;
  }

  if (resource === "keys" && action === "create") {
    const workspaceId = required("workspace");
    const id = newId("key");
    const key = generateApiKey();
    const written = returned(
      d1(
        `INSERT INTO api_keys (id, workspace_id, key_hash, created_at)
         SELECT ${literal(id)}, id, ${literal(await hashApiKey(key))}, ${literal(now)}
           FROM workspaces WHERE id = ${literal(workspaceId)} RETURNING id`,
      ),
    );
    if (written !== 1) throw new Error(`no workspace ${workspaceId}`);
    // The only time the secret is shown: it is stored as a hash.
    return { id, key, workspace_id: workspaceId, created_at: now };
  }

  if (resource === "keys" && action === "revoke") {
    if (!argument) throw new UsageError("keys revoke needs KEY_ID");
    const written = returned(
      d1(
        `UPDATE api_keys SET revoked_at = ${literal(now)}
          WHERE id = ${literal(argument)} AND revoked_at IS NULL RETURNING id`,
      ),
    );
    if (written !== 1) throw new Error(`no active key ${argument}`);
    return { id: argument, revoked_at: now };
  }

  if (resource === "agents" && action === "create") {
    const workspaceId = required("workspace");
    const name = required("name");
    const id = newId("agent");
    // The name its LiveKit worker registers with; by default the agent's id.
    const agentName = options["agent-name"] ?? id;
    if (!/^[\w.-]{1,128}$/.test(agentName)) {
      throw new UsageError("--agent-name must be 1-128 letters, digits, '_', '.' or '-'");
    }
    const written = returned(
      d1(
        `INSERT INTO agents (id, workspace_id, name, agent_name, created_at)
         SELECT ${literal(id)}, id, ${literal(name)}, ${literal(agentName)}, ${literal(now)}
           FROM workspaces WHERE id = ${literal(workspaceId)} RETURNING id`,
      ),
    );
    if (written !== 1) throw new Error(`no workspace ${workspaceId}`);
    return { id, workspace_id: workspaceId, name, agent_name: agentName, created_at: now };
  }

  if (resource === "trunks" && action === "create") {
    // In the Worker (POST /internal/trunks): it seals the password with CREDENTIALS_KEY, which
    // this CLI never holds.
    const workspaceId = required("workspace");
    if (!options.address) throw new UsageError("--address is required");
    return internal("trunks", {
      workspace_id: workspaceId,
      address: options.address,
      username: options.username ?? null,
      password: options.password ?? null,
    });
  }

  if (resource === "reconcile") {
    // Reconciliation needs Twilio, so it runs in the Worker (POST /internal/reconcile).
    const base = options.remote
      ? process.env.PHONE_NUMBERS_API_URL
      : (process.env.PHONE_NUMBERS_API_URL ?? "http://localhost:8787");
    const token = options.remote
      ? process.env.ADMIN_TOKEN
      : (process.env.ADMIN_TOKEN ?? LOCAL_ADMIN_TOKEN);
    if (!base || !token)
      throw new UsageError("--remote needs PHONE_NUMBERS_API_URL and ADMIN_TOKEN");
    const response = await fetch(`${base}/internal/reconcile?fix=${options.fix}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    const body = await response.json();
    if (!response.ok)
      throw new Error(`reconcile failed (${response.status}): ${JSON.stringify(body)}`);
    return body;
  }

  throw new UsageError(`unknown command: ${positionals.join(" ") || "(none)"}`);
}

try {
  console.log(JSON.stringify(await run()));
} catch (error) {
  const message =
    error instanceof Error && "stderr" in error && error.stderr
      ? String(error.stderr).trim()
      : error instanceof Error
        ? error.message
        : String(error);
  console.error(JSON.stringify({ error: message }));
  if (error instanceof UsageError) console.error(USAGE);
  process.exitCode = 1;
}
