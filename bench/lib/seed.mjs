// D1 schema and data for the benchmark, written straight into the API's D1 from Node, as
// test/helpers/workspaces.ts and the admin CLI do: a workspace (with its own rate limits), its
// API key (`sk_` + 43 base64url characters, stored as the SHA-256 hex of the key) and, for
// `list`, its numbers.
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { unstable_splitSqlQuery } from "wrangler";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function ulid(now = Date.now()) {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let tail = "";
  for (const byte of randomBytes(16)) tail += CROCKFORD[byte % 32];
  return time + tail;
}

export const newId = (prefix) => `${prefix}_${ulid()}`;

export function newApiKey() {
  const key = `sk_${randomBytes(32).toString("base64url")}`;
  return { key, hash: createHash("sha256").update(key).digest("hex") };
}

export async function applyMigrations(db, root) {
  const dir = path.join(root, "migrations");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  for (const file of files) {
    const statements = unstable_splitSqlQuery(readFileSync(path.join(dir, file), "utf8"));
    await db.batch(statements.map((sql) => db.prepare(sql)));
  }
  return files;
}

/** A SQL literal for the values the seed generates (strings, integers, null). */
function literal(value) {
  if (value === null) return "NULL";
  if (typeof value === "number") return String(value);
  return `'${String(value).replaceAll("'", "''")}'`;
}

/**
 * Inserts rows with multi-row INSERTs, in one D1 batch: each statement sent from Node is a
 * round trip through Miniflare's proxy, so binding row by row would make seeding slow.
 */
async function insertRows(db, table, columns, rows, rowsPerStatement = 200) {
  const statements = [];
  for (let i = 0; i < rows.length; i += rowsPerStatement) {
    const values = rows
      .slice(i, i + rowsPerStatement)
      .map((row) => `(${row.map(literal).join(", ")})`)
      .join(",\n");
    statements.push(db.prepare(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${values}`));
  }
  if (statements.length > 0) await db.batch(statements);
}

/**
 * Rate limits (a minute) high enough never to be reached: the benchmark measures throughput, not
 * the limits (the noisy neighbour's flooder keeps the deployment's defaults: `DEFAULT_RATES`).
 */
export const UNLIMITED_RATES = { search: 1_000_000, write: 1_000_000 };
export const DEFAULT_RATES = { search: null, write: null };

/**
 * `count` workspaces with one API key and one agent each (`agentId`, for purchases that bind
 * their number to an agent); their purchased-number limit is `limit`, their own rate limits
 * `rates` (null: the deployment's default).
 */
export async function seedWorkspaces(db, count, limit = 1000, rates = UNLIMITED_RATES) {
  const now = new Date().toISOString();
  const workspaces = [];
  const workspaceRows = [];
  const keyRows = [];
  const agentRows = [];
  for (let i = 0; i < count; i++) {
    const id = newId("ws");
    const { key, hash } = newApiKey();
    const agentId = newId("agent");
    workspaces.push({ id, key, keyHash: hash, agentId, auth: { authorization: `Bearer ${key}` } });
    workspaceRows.push([id, `Bench ${i}`, limit, newId("trunk"), rates.search, rates.write, now]);
    keyRows.push([newId("key"), id, hash, now]);
    agentRows.push([agentId, id, `Bench agent ${i}`, `bench-agent-${i}`, now]);
  }
  await insertRows(
    db,
    "workspaces",
    [
      "id",
      "name",
      "purchased_number_limit",
      "trunk_id",
      "search_rate_per_minute",
      "write_rate_per_minute",
      "created_at",
    ],
    workspaceRows,
  );
  await insertRows(db, "api_keys", ["id", "workspace_id", "key_hash", "created_at"], keyRows);
  await insertRows(
    db,
    "agents",
    ["id", "workspace_id", "name", "agent_name", "created_at"],
    agentRows,
  );
  return workspaces;
}

/** `count` active purchased numbers of the workspace, as the API would have recorded them. */
export async function seedActiveNumbers(db, workspaceId, count, firstNumber = 19995550100) {
  const ids = [];
  const rows = [];
  for (let i = 0; i < count; i++) {
    const id = newId("phone");
    const at = new Date(Date.now() - (count - i) * 1000).toISOString();
    ids.push(id);
    rows.push([
      id,
      workspaceId,
      `+${firstNumber + i}`,
      "twilio_purchased",
      '["inbound","outbound"]',
      `Line ${i}`,
      `PN${ulid()}`,
      "active",
      at,
      at,
    ]);
  }
  await insertRows(
    db,
    "phone_numbers",
    [
      "id",
      "workspace_id",
      "e164",
      "source",
      "capabilities",
      "label",
      "twilio_sid",
      "status",
      "created_at",
      "updated_at",
    ],
    rows,
  );
  return ids;
}

/** US area codes the stand-in sells from (100 numbers each), never the special 500 and 533. */
export function areaCodes() {
  const codes = [];
  for (let a = 2; a <= 9; a++) {
    for (let b = 0; b <= 8; b++) {
      for (let c = 0; c <= 9; c++) {
        const npa = `${a}${b}${c}`;
        if (npa.slice(1) === "11" || npa === "500" || npa === "533") continue;
        codes.push(npa);
      }
    }
  }
  return codes;
}
