// D1 schema and data for the benchmark, written straight into the API's D1 from Node, as
// test/helpers/workspaces.ts and the admin CLI do: a workspace, its API key (`sk_` + 43
// base64url characters, stored as the SHA-256 hex of the key) and, for `list`, its numbers.
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

async function batched(db, statements, size = 100) {
  for (let i = 0; i < statements.length; i += size) {
    await db.batch(statements.slice(i, i + size));
  }
}

/** `count` workspaces with one API key each; their purchased-number limit is `limit`. */
export async function seedWorkspaces(db, count, limit = 1000) {
  const now = new Date().toISOString();
  const workspaces = [];
  const statements = [];
  for (let i = 0; i < count; i++) {
    const id = newId("ws");
    const keyId = newId("key");
    const { key, hash } = newApiKey();
    workspaces.push({ id, key, auth: { authorization: `Bearer ${key}` } });
    statements.push(
      db
        .prepare(
          "INSERT INTO workspaces (id, name, purchased_number_limit, trunk_id, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id, `Bench ${i}`, limit, newId("trunk"), now),
      db
        .prepare(
          "INSERT INTO api_keys (id, workspace_id, key_hash, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(keyId, id, hash, now),
    );
  }
  await batched(db, statements);
  return workspaces;
}

/** `count` active purchased numbers of the workspace, as the API would have recorded them. */
export async function seedActiveNumbers(db, workspaceId, count, firstNumber = 19995550100) {
  const ids = [];
  const statements = [];
  for (let i = 0; i < count; i++) {
    const id = newId("phone");
    const at = new Date(Date.now() - (count - i) * 1000).toISOString();
    ids.push(id);
    statements.push(
      db
        .prepare(
          `INSERT INTO phone_numbers (id, workspace_id, e164, source, capabilities, label, trunk_id,
             agent_id, livekit_phone_number_id, twilio_sid, status, created_at, updated_at)
           VALUES (?, ?, ?, 'twilio_purchased', '["inbound","outbound"]', ?, NULL, NULL, NULL, ?,
             'active', ?, ?)`,
        )
        .bind(id, workspaceId, `+${firstNumber + i}`, `Line ${i}`, `PN${ulid()}`, at, at),
    );
  }
  await batched(db, statements);
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
