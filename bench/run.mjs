// `npm run bench`: builds the API and a baseline Hono Worker, runs them in Miniflare (workerd)
// on 127.0.0.1, drives load at them from this process, prints one table and writes
// bench/results.json. See bench/README.md for the method and how to read each number.
import { execFileSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildAll, bundleSize } from "./lib/build.mjs";
import { withCpu } from "./lib/cpu.mjs";
import { measureEval } from "./lib/eval.mjs";
import { combine, createClient, runOnce } from "./lib/http.mjs";
import {
  farthestRegion,
  modelBudgets,
  modelRoutes,
  regionsTable,
  topology,
} from "./lib/latency-model.mjs";
import { interleavedLoad } from "./lib/load.mjs";
import {
  applyMigrations,
  areaCodes,
  DEFAULT_RATES,
  seedActiveNumbers,
  seedWorkspaces,
} from "./lib/seed.mjs";
import {
  standinControl,
  startApi,
  startD1Floor,
  startHello,
  startPurchaseFloor,
  startStandin,
  stop,
  stopAll,
  workerLogTail,
} from "./lib/workers.mjs";
import { CLIENT_REGIONS, PLACES, REGIONS, RTT_PAIRS, SOURCES } from "./regions.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const USAGE = `Usage: npm run bench -- [options]
  --twilio-latency-ms N       latency the Twilio stand-in adds to every call (default 0)
  --livekit-latency-ms N      latency the LiveKit stand-in adds to every call, in the same
                              phases (default: the Twilio latency)
  --seconds S                 load time per target of the steady-load runs: baseline, D1
                              floor, list, search (default 6)
  --connections C             concurrent connections of the steady-load runs, and purchases
                              in flight in the "under load" purchase run (default 10)
  --purchases N               purchases of each purchase run, one fresh workspace each (default 300)
  --purchase-concurrency C    purchases in flight in the main purchase run, ours and the
                              stand-in's (default 1)
  --scale-seconds S           time of each scale run, 1 and 50 workspaces (default 6)
  --eval-runs N               fresh evaluations of each bundle (default 20)
  --out FILE                  where to write the results (default bench/results.json)
  --regions                   only the I/O phase and the latency model (no load runs): the
                              model's keys (regions, regions_single, regions_model,
                              regions_budgets) replace those of FILE, its other keys are kept;
                              a full run writes them too
  --d1-primary HINT           the D1 primary's location hint in the latency model (default
                              ${PLACES.d1PrimaryHint}; one of bench/regions.mjs's hints)
  --strict                    exit 1 when a budget is missed (the model's included)
  --help

Exit status: 0 done (budgets are reported, not enforced), 1 a budget missed under --strict,
2 bad options or the benchmark could not run.`;

const { values: flags } = parseArgs({
  options: {
    "twilio-latency-ms": { type: "string", default: "0" },
    "livekit-latency-ms": { type: "string" },
    seconds: { type: "string", default: "6" },
    connections: { type: "string", default: "10" },
    purchases: { type: "string", default: "300" },
    "purchase-concurrency": { type: "string", default: "1" },
    "scale-seconds": { type: "string", default: "6" },
    "eval-runs": { type: "string", default: "20" },
    out: { type: "string", default: path.join(root, "bench", "results.json") },
    regions: { type: "boolean", default: false },
    "d1-primary": { type: "string", default: PLACES.d1PrimaryHint },
    strict: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

function intFlag(name, min, max) {
  const value = Number(flags[name]);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`--${name} must be an integer from ${min} to ${max}\n\n${USAGE}`);
    process.exit(2);
  }
  return value;
}

const options = {
  twilioLatencyMs: intFlag("twilio-latency-ms", 0, 10_000),
  livekitLatencyMs:
    flags["livekit-latency-ms"] === undefined
      ? Number(flags["twilio-latency-ms"])
      : intFlag("livekit-latency-ms", 0, 10_000),
  seconds: intFlag("seconds", 2, 60),
  connections: intFlag("connections", 1, 256),
  purchases: intFlag("purchases", 10, 1000),
  purchaseConcurrency: intFlag("purchase-concurrency", 1, 64),
  // At most 18 purchases/s per workspace at 50 ms: a slice stays under the 95-number cap.
  scaleSeconds: intFlag("scale-seconds", 2, 10),
  evalRuns: intFlag("eval-runs", 3, 100),
};
/** The places and round trips of the latency model (bench/regions.mjs). */
let places;
try {
  places = topology({ d1PrimaryHint: flags["d1-primary"] });
} catch (error) {
  console.error(`--d1-primary: ${error.message}\n\n${USAGE}`);
  process.exit(2);
}
/** Steady-load and scale runs alternate their targets in this many slices. */
const SLICES = 2;
const SCALE_LATENCY_MS = 50;
const SCALE_WORKSPACES = 50;
/** A workspace holds at most 100 numbers of any source (TOTAL_NUMBER_LIMIT in src/config.ts). */
const SCALE_MAX_PER_WORKSPACE = 95;
const SEARCH_PAGE = 50;
/** A purchase run stops starting requests after this, whatever --purchases says. */
const PURCHASE_RUN_MAX_SECONDS = 10;
/** Load time of each local-cost target (the bare Worker with one D1 or Cache API call or none). */
const LOCAL_COSTS_SECONDS = 3;
/** Noisy neighbour: the victim's purchases (one at a time), half without a flood, half with. */
const NOISY_VICTIM_PURCHASES = 80;
/** Noisy neighbour: the flooder's searches in flight, and the most it sends in all. */
const NOISY_FLOOD_IN_FLIGHT = 20;
const NOISY_FLOOD_MAX_REQUESTS = 20_000;
/** Twilio gate cost: searches (one at a time) through the gate and without one, each. */
const GATE_SEARCHES = 400;
const STANDIN_SID = "AC00000000000000000000000000000000";
const STANDIN_BASIC = `Basic ${Buffer.from(`${STANDIN_SID}:standin-auth-token`).toString("base64")}`;
const BASE = "/v1/agents/phone-numbers";
/** The LiveKit stand-in's dev key and secret: the top-level [vars] of wrangler.toml. */
const LIVEKIT_KEY = topLevelVar("LIVEKIT_API_KEY");
const LIVEKIT_SECRET = topLevelVar("LIVEKIT_API_SECRET");
/** Where the workspaces' outbound trunks send calls (as the API sets them up). */
const OUTBOUND_ADDRESS = topLevelVar("TWILIO_TERMINATION_DOMAIN");
// Budgets (see bench/README.md).
const BUNDLE_LIMIT_BYTES = 256 * 1024;
const EVAL_RATIO_LIMIT = 3;
const LIST_FLOOR_RATIO_LIMIT = 0.85;
/** LiveKit calls of a purchase with agent_id in a workspace whose outbound trunk exists. */
const PURCHASE_LIVEKIT_LIMIT = 3;

const started = performance.now();
const loadAtStart = os.loadavg()[0];
const progress = (message) =>
  console.error(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}`);

// ---- Cleanup: temp files and every Miniflare, however the run ends ------------------------

// One temp folder holds everything the run writes: the builds and, through TMPDIR, Miniflare's
// storage (its "in-memory" D1 and Durable Objects are SQLite files in its temp folder). On
// Linux it is put in /dev/shm, so that storage really is in memory and the numbers do not
// depend on the disk's fsync latency (production D1 and Durable Objects are not on this disk).
const tmp = mkdtempSync(path.join(shmDir() ?? os.tmpdir(), "phone-numbers-bench-"));
process.env.TMPDIR = tmp;
let cleaning = null;
/** Stops every Miniflare and removes the temp folder; every caller waits for the one run. */
function cleanup() {
  cleaning ??= (async () => {
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the Workers and removing ${tmp}`);
    // Synchronously first: Miniflare's own exit hook may end the process before we resume.
    rmSync(tmp, { recursive: true, force: true });
    cleanup().finally(() => process.exit(130));
  });
}

// ---- Helpers ------------------------------------------------------------------------------

function shmDir() {
  try {
    accessSync("/dev/shm", constants.W_OK);
    return "/dev/shm";
  } catch {
    return null;
  }
}

/** Fields of X-IO-Counts (bench/instrumented/io-counters.ts) and their names in results.json. */
const IO_FIELDS = {
  d1: "d1_round_trips",
  do: "do_calls",
  twilio: "twilio_calls",
  livekit: "livekit_calls",
  d1_session: "d1_session_round_trips",
  d1_no_session: "d1_no_session_round_trips",
  d1_first_primary: "d1_first_primary_round_trips",
  d1_session_write: "d1_session_write_round_trips",
  d1_unconstrained: "d1_unconstrained_round_trips",
  d1_bookmark: "d1_bookmark_round_trips",
  obj_d1: "object_d1_round_trips",
  obj_twilio: "object_twilio_calls",
  obj_livekit: "object_livekit_calls",
  overlapped: "overlapped_trips",
};

/**
 * The I/O figures of a route, from `X-IO-Counts: d1=N; do=N; ...` (every field of IO_FIELDS)
 * and the order of its trips, from `X-IO-Trace` (`io_trace`).
 */
function ioCounts(res) {
  const header = res.headers["x-io-counts"];
  const counts = Object.fromEntries(
    (header ?? "")
      .split(";")
      .map((part) => /^\s*(\w+)=(\d+)\s*$/.exec(part))
      .filter(Boolean)
      .map((m) => [m[1], Number(m[2])]),
  );
  const io = {};
  for (const [name, key] of Object.entries(IO_FIELDS)) {
    if (counts[name] === undefined) {
      throw new Error(`no ${name} in X-IO-Counts "${header}" (status ${res.status}): ${res.text}`);
    }
    io[key] = counts[name];
  }
  const trace = res.headers["x-io-trace"];
  if (trace === undefined) throw new Error(`no X-IO-Trace (status ${res.status}): ${res.text}`);
  io.io_trace = trace;
  return io;
}

/** The I/O figures of a route whose request failed. */
const unmeasuredIo = {
  ...Object.fromEntries(Object.values(IO_FIELDS).map((key) => [key, null])),
  io_trace: null,
};

async function expect(promise, status, what) {
  const res = await promise;
  if (res.status !== status) {
    throw new Error(`${what}: expected ${status}, got ${res.status} ${res.text.slice(0, 300)}`);
  }
  return res;
}

async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      results[i] = await fn(items[i], i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A purchase that binds the number to the workspace's agent (a dispatch rule in LiveKit). */
function purchaseRequest(ws, e164, n) {
  return {
    method: "POST",
    path: `${BASE}/purchase`,
    headers: { ...ws.auth, "idempotency-key": `bench-${ws.id}-${n}` },
    body: { e164, agent_id: ws.agentId },
  };
}

/** A var of wrangler.toml's top level (a `NAME = "value"` line before any [env.*] table). */
function topLevelVar(name) {
  const text = readFileSync(path.join(root, "wrangler.toml"), "utf8").split(/^\[env\./m)[0];
  const match = new RegExp(`^${name} = "([^"]*)"`, "m").exec(text);
  if (!match) throw new Error(`no ${name} in wrangler.toml's top-level [vars]`);
  return match[1];
}

/**
 * An HS256 token for the LiveKit stand-in's dev key, valid five minutes, granting `sip.admin`,
 * signed with Web Crypto as test/helpers/livekit-standin.ts does. The API caches its token too,
 * so one token serves a whole run (a run is far shorter than its five minutes).
 */
async function livekitToken() {
  const b64 = (bytes) => Buffer.from(bytes).toString("base64url");
  const json = (value) => b64(new TextEncoder().encode(JSON.stringify(value)));
  const now = Math.floor(Date.now() / 1000);
  const input = `${json({ alg: "HS256", typ: "JWT" })}.${json({
    iss: LIVEKIT_KEY,
    nbf: now - 30,
    exp: now + 300,
    sip: { admin: true },
  })}`;
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(LIVEKIT_SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return `${input}.${b64(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input)))}`;
}

function twirpRequest(token, method, body) {
  return {
    method: "POST",
    path: `/twirp/livekit.SIP/${method}`,
    headers: { authorization: `Bearer ${token}` },
    body,
  };
}

/**
 * The upstream calls a purchase with agent_id makes in a workspace whose outbound trunk exists,
 * made directly to the stand-ins, one after the other: Twilio's purchase, then LiveKit's
 * UpdateSIPOutboundTrunk (the number added as a caller id of `outboundTrunkId`),
 * CreateSIPInboundTrunk (the number's own trunk) and CreateSIPDispatchRule (on that trunk,
 * naming the agent), with the bodies the API sends (src/livekit/client.ts, telephony.ts). A
 * function of the client, for runOnce: 201 and the total time when every call succeeds, with
 * each call's time in `steps`.
 */
function directPurchase(token, e164, outboundTrunkId, n) {
  const numberId = `phone_bench${n}`;
  const metadata = JSON.stringify({ number_id: numberId, workspace_id: `ws_bench${n}` });
  return async (client) => {
    const steps = {};
    let total = 0;
    const call = async (step, request, status) => {
      const res = await client.request(request);
      steps[step] = res.ms;
      total += res.ms;
      if (res.status !== status) throw Object.assign(new Error(step), { res });
      return JSON.parse(res.text);
    };
    try {
      await call("twilio_purchase", standinPurchaseRequest(e164), 201);
      await call(
        "livekit_update_outbound_trunk",
        twirpRequest(token, "UpdateSIPOutboundTrunk", {
          sip_trunk_id: outboundTrunkId,
          update: { numbers: { add: [e164] } },
        }),
        200,
      );
      const inbound = await call(
        "livekit_create_inbound_trunk",
        twirpRequest(token, "CreateSIPInboundTrunk", {
          trunk: { name: numberId, numbers: [e164], metadata },
        }),
        200,
      );
      await call(
        "livekit_create_dispatch_rule",
        twirpRequest(token, "CreateSIPDispatchRule", {
          dispatch_rule: {
            name: numberId,
            trunk_ids: [inbound.sip_trunk_id],
            numbers: [],
            rule: { dispatch_rule_individual: { room_prefix: "call-" } },
            room_config: { agents: [{ agent_name: `bench-agent-${n}` }] },
            metadata,
          },
        }),
        200,
      );
    } catch (error) {
      if (!error.res) throw error;
      return { ...error.res, text: `${error.message}: ${error.res.text}` };
    }
    return { status: 201, ms: total, text: "", steps };
  };
}

/**
 * `count` numbers a Twilio stand-in (reached by `client`) has for sale, searched area code by
 * area code from `npas`, as the stand-ins' runs buy them directly.
 */
async function standinNumbersForSale(client, npas, count, what) {
  const numbers = [];
  for (const npa of npas) {
    if (numbers.length >= count) return numbers;
    const res = await expect(
      client.request({
        path: `/2010-04-01/Accounts/${STANDIN_SID}/AvailablePhoneNumbers/US/Local.json?AreaCode=${npa}&PageSize=100`,
        headers: { authorization: STANDIN_BASIC },
      }),
      200,
      `${what}: stand-in search`,
    );
    for (const n of JSON.parse(res.text).available_phone_numbers) numbers.push(n.phone_number);
  }
  if (numbers.length < count) {
    throw new Error(`${what}: ${numbers.length} numbers for sale found, ${count} needed`);
  }
  return numbers;
}

/** A LiveKit outbound trunk at a LiveKit stand-in (reached by `client`): its id (ST_...). */
async function createOutboundTrunk(client, token, name, firstNumber, what) {
  const res = await expect(
    client.request(
      twirpRequest(token, "CreateSIPOutboundTrunk", {
        trunk: {
          name,
          address: OUTBOUND_ADDRESS,
          numbers: [firstNumber],
          auth_username: "bench",
          auth_password: "bench-password",
        },
      }),
    ),
    200,
    `${what}: CreateSIPOutboundTrunk`,
  );
  return JSON.parse(res.text).sip_trunk_id;
}

/**
 * The purchase I/O floor's orders (bench/purchase-floor): a workspace each in its own D1, with
 * a LiveKit outbound trunk at its own LiveKit stand-in and two numbers from its own Twilio
 * stand-in. The first number of each is bought here (so that every workspace's object has
 * started, as the API's have by their first purchase); the orders for the second are returned,
 * as requests for runOnce: `withLedger` as the purchase makes them, `withoutLedger` (as many,
 * other workspaces) without the object's commits and alarm.
 */
async function preparePurchaseFloor(instance, token, npas) {
  const db = await instance.mf.getD1Database("DB");
  await applyMigrations(db, root);
  const workspaces = await seedWorkspaces(db, 2 * options.purchases);
  const client = createClient(instance.url, 64);
  const numbers = await standinNumbersForSale(
    client,
    npas,
    2 * workspaces.length,
    "purchase floor",
  );
  const orders = await mapLimit(workspaces, 8, async (ws, i) => {
    const outboundTrunkId = await createOutboundTrunk(
      client,
      token,
      `trunk_floor${i}`,
      `+1${String(2035550000 + i)}`,
      "purchase floor",
    );
    const order = (e164, n) => ({
      method: "POST",
      path: "/",
      headers: ws.auth,
      body: {
        e164,
        numberId: `phone_floor${i}n${n}`,
        agentId: ws.agentId,
        outboundTrunkId,
        livekitToken: token,
        twilioAuthorization: STANDIN_BASIC,
        twilioAccountSid: STANDIN_SID,
        twilioTrunkSid: "TK00000000000000000000000000000000",
        ledger: i < options.purchases,
      },
    });
    return [order(numbers[2 * i], 0), order(numbers[2 * i + 1], 1)];
  });
  checked(
    "purchase floor: first purchases",
    combine([
      await runOnce(
        client,
        orders.map(([first]) => first),
        8,
        201,
        600,
      ),
    ]),
  );
  client.close();
  const measured = orders.map(([, second]) => second);
  return {
    withLedger: measured.slice(0, options.purchases),
    withoutLedger: measured.slice(options.purchases),
  };
}

function standinPurchaseRequest(e164) {
  return {
    method: "POST",
    path: `/2010-04-01/Accounts/${STANDIN_SID}/IncomingPhoneNumbers.json`,
    headers: { authorization: STANDIN_BASIC, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      PhoneNumber: e164,
      TrunkSid: "TK00000000000000000000000000000000",
    }).toString(),
  };
}

/** Searches through the API as `ws`; the returned numbers are now buyable by `ws`. */
async function searchAsWorkspace(client, ws, npa, limit = SEARCH_PAGE) {
  const res = await expect(
    client.request({ path: `${BASE}/available?area_code=${npa}&limit=${limit}`, headers: ws.auth }),
    200,
    `search ${npa}`,
  );
  return JSON.parse(res.text).numbers.map((n) => n.e164);
}

/**
 * Scale: one client per workspace, each issuing purchases back to back (one in flight per
 * workspace) until `seconds` have passed; the slice ends when the last answer arrives. Each
 * workspace buys the numbers its searches returned (`ws.numbers`).
 */
async function scaleSlice(client, workspaces, seconds) {
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const latencies = [];
  const failures = [];
  let last = t0;
  await Promise.all(
    workspaces.map(async (ws) => {
      for (let n = 0; performance.now() < deadline; n++) {
        if (n >= Math.min(ws.numbers.length, SCALE_MAX_PER_WORKSPACE)) {
          failures.push(`workspace ${ws.id} ran out of searched numbers`);
          return;
        }
        try {
          const res = await client.request(purchaseRequest(ws, ws.numbers[n], `scale-${n}`));
          if (res.status === 201) latencies.push(res.ms);
          else failures.push(`${res.status} ${res.text.slice(0, 200)}`);
        } catch (error) {
          failures.push(String(error));
        }
        last = Math.max(last, performance.now());
      }
    }),
  );
  return { latencies, failures, seconds: (last - t0) / 1000 };
}

function checked(name, result) {
  if (result.failed > 0) {
    throw new Error(
      `${name}: ${result.failed} of ${result.ok + result.failed} requests failed, e.g.\n  ${result.failures.join("\n  ")}`,
    );
  }
  return result;
}

/** The `error` field of a structured log line, else the line. */
function loggedError(line) {
  try {
    const entry = JSON.parse(line);
    return entry.error ? `${entry.event}: ${entry.error}` : line;
  } catch {
    return line;
  }
}

/** Ids of the numbers a workspace holds, newest first. */
async function heldIds(client, ws) {
  const res = await expect(client.request({ path: BASE, headers: ws.auth }), 200, "list");
  return JSON.parse(res.text).numbers.map((n) => n.id);
}

// ---- The phases ---------------------------------------------------------------------------

/**
 * D1 round trips, Durable Object calls and upstream calls of one representative request per
 * route, from the X-IO-Counts header of the instrumented API (bench/instrumented) started with
 * IO_COUNTERS=1; each measured request follows a
 * first one of the same kind, on the same warm Worker. A request that fails leaves its route
 * unmeasured (null) with the reason.
 */
async function measureIo(built) {
  const api = await startApi(root, built.instrumentedScript, built.standinScripts, {
    ioCounters: true,
  });
  const client = createClient(api.url, 4);
  try {
    const db = await api.mf.getD1Database("DB");
    await applyMigrations(db, root);
    await (await standinControl(api.mf)).reset();
    const [readWs, buyWs] = await seedWorkspaces(db, 2);
    const seeded = await seedActiveNumbers(db, readWs.id, 20);
    const io = {};
    /** The first request of each kind, where it differs from the next (the purchase's). */
    const first = {};
    async function measure(name, status, request) {
      let res;
      for (const attempt of [0, 1]) {
        workerLogTail.length = 0;
        res = await client.request(request(attempt));
        if (res.status !== status) break;
        if (attempt === 0) first[name] = ioCounts(res);
      }
      if (res.status === status) {
        io[name] = ioCounts(res);
      } else {
        io[name] = {
          ...unmeasuredIo,
          error: `HTTP ${res.status}: ${res.text.slice(0, 300)}`,
          worker_logged: workerLogTail.map(loggedError),
        };
      }
      return res;
    }
    await measure("list", 200, () => ({ path: BASE, headers: readWs.auth }));
    await measure("get", 200, () => ({ path: `${BASE}/${seeded[0]}`, headers: readWs.auth }));
    const search = await measure("search", 200, () => ({
      path: `${BASE}/available?area_code=${areaCodes()[0]}&limit=5`,
      headers: buyWs.auth,
    }));
    const found = search.status === 200 ? JSON.parse(search.text).numbers.map((n) => n.e164) : [];
    // With agent_id: the first creates the workspace's outbound trunk, the second (measured)
    // finds it (its counts as first_purchase).
    const purchase = await measure("purchase", 201, (attempt) =>
      purchaseRequest(buyWs, found[attempt] ?? "+12015550100", `io-${attempt}`),
    );
    const bought = purchase.status === 201 ? await heldIds(client, buyWs) : [];
    await measure("patch", 200, (attempt) => ({
      method: "PATCH",
      path: `${BASE}/${seeded[1]}`,
      headers: readWs.auth,
      body: { label: attempt ? "Support" : "Front desk" },
    }));
    // Releases the two numbers the API bought (its ledger knows them), or seeded ones if it
    // could not buy them.
    const releasable =
      bought.length >= 2 ? { ws: buyWs, ids: bought } : { ws: readWs, ids: seeded.slice(18) };
    await measure("delete", 204, (attempt) => ({
      method: "DELETE",
      path: `${BASE}/${releasable.ids[attempt]}`,
      headers: releasable.ws.auth,
    }));
    Object.defineProperty(io, "firstPurchase", { value: first.purchase ?? null });
    return io;
  } finally {
    client.close();
    await stop(api.mf);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One workspace floods search (`NOISY_FLOOD_IN_FLIGHT` in flight, back to back, on the
 * deployment's default limits) while another buys numbers one at a time; the same purchases
 * without the flood alternate with them. Both workspaces are fresh; the victim's rates are
 * unlimited so that only the flood, not its own limit, could slow it.
 */
async function noisyNeighbour(client, db, takeNpa, apiPids) {
  const [victim] = await seedWorkspaces(db, 1);
  const [noisy] = await seedWorkspaces(db, 1, 1000, DEFAULT_RATES);
  const numbers = [
    ...(await searchAsWorkspace(client, victim, takeNpa())),
    ...(await searchAsWorkspace(client, victim, takeNpa())),
  ];
  // The victim's outbound trunk exists before its measured purchases (its first purchase).
  await expect(
    client.request(purchaseRequest(victim, numbers[NOISY_VICTIM_PURCHASES], "noisy-first")),
    201,
    "noisy neighbour, victim's first purchase",
  );
  const purchases = numbers
    .slice(0, NOISY_VICTIM_PURCHASES)
    .map((e164, i) => purchaseRequest(victim, e164, `noisy-${i}`));
  const floodPath = `${BASE}/available?area_code=${takeNpa()}&limit=20`;
  const statusCounts = {};
  let floodSent = 0;
  let floodSeconds = 0;
  const quiet = [];
  const flooded = [];
  const half = Math.ceil(NOISY_VICTIM_PURCHASES / (2 * SLICES));
  for (let slice = 0; slice < SLICES; slice++) {
    const from = 2 * slice * half;
    quiet.push(
      await withCpu(apiPids, () =>
        runOnce(client, purchases.slice(from, from + half), 1, 201, PURCHASE_RUN_MAX_SECONDS),
      ),
    );
    let stopped = false;
    const floodStarted = performance.now();
    const flood = Promise.all(
      Array.from({ length: NOISY_FLOOD_IN_FLIGHT }, async () => {
        while (!stopped && floodSent < NOISY_FLOOD_MAX_REQUESTS) {
          floodSent++;
          let key;
          try {
            key = String((await client.request({ path: floodPath, headers: noisy.auth })).status);
          } catch {
            key = "error";
          }
          statusCounts[key] = (statusCounts[key] ?? 0) + 1;
        }
      }),
    );
    // The victim starts once the flood is under way, and the flood stops when it is done.
    await sleep(200);
    try {
      flooded.push(
        await withCpu(apiPids, () =>
          runOnce(
            client,
            purchases.slice(from + half, from + 2 * half),
            1,
            201,
            PURCHASE_RUN_MAX_SECONDS,
          ),
        ),
      );
    } finally {
      stopped = true;
      await flood;
      floodSeconds += (performance.now() - floodStarted) / 1000;
    }
  }
  return {
    quiet: checked("noisy neighbour, victim without the flood", combine(quiet)),
    flooded: checked("noisy neighbour, victim during the flood", combine(flooded)),
    flood: { requests: floodSent, seconds: floodSeconds, statusCounts },
  };
}

/**
 * What the Twilio gate costs a call: the same searches (one Twilio call each), one at a time,
 * alternating between two fresh instances of the API in the same state, one as configured
 * (every Twilio call through the TwilioGate object), the other with TWILIO_MAX_CONCURRENCY=0
 * (no gate: straight to its stand-in). Fresh, because a stand-in that already holds thousands
 * of numbers (as the main instance's does by now) searches more slowly.
 */
async function gateCost(built) {
  const started = [];
  try {
    for (const vars of [{}, { TWILIO_MAX_CONCURRENCY: "0" }]) {
      const api = await startApi(root, built.instrumentedScript, built.standinScripts, {
        ioCounters: false,
        vars,
      });
      started.push(api);
      const db = await api.mf.getD1Database("DB");
      await applyMigrations(db, root);
      await (await standinControl(api.mf)).reset();
      const [ws] = await seedWorkspaces(db, 1);
      api.client = createClient(api.url, 4);
      api.searches = Array.from({ length: GATE_SEARCHES / SLICES }, () => ({
        path: `${BASE}/available?area_code=415&limit=20`,
        headers: ws.auth,
      }));
      // Warm it (the Worker, the workspace object, the gate) before measuring.
      checked(
        "warming up",
        combine([await runOnce(api.client, api.searches.slice(0, 10), 1, 200)]),
      );
    }
    const parts = [[], []];
    for (let slice = 0; slice < SLICES; slice++) {
      for (const [i, api] of started.entries()) {
        parts[i].push(await withCpu(api.pids, () => runOnce(api.client, api.searches, 1, 200)));
      }
    }
    return {
      gated: checked("search through the Twilio gate", combine(parts[0])),
      direct: checked("search without the Twilio gate", combine(parts[1])),
    };
  } finally {
    for (const api of started) {
      api.client?.close();
      await stop(api.mf);
    }
  }
}

/** TWILIO_MAX_CONCURRENCY of wrangler.toml's top level (the API as benchmarked). */
function gateConcurrency() {
  const match = /^TWILIO_MAX_CONCURRENCY = "(\d+)"/m.exec(
    readFileSync(path.join(root, "wrangler.toml"), "utf8"),
  );
  return match ? Number(match[1]) : null;
}

async function main() {
  progress(`building into ${tmp}`);
  const built = await buildAll(root, tmp);
  const bundle = bundleSize(built.prodScript);
  const baselineBundle = bundleSize(built.helloScript);

  progress(`module evaluation, ${options.evalRuns} fresh processes per bundle`);
  const evals = await measureEval(
    tmp,
    {
      ours: built.prodScript,
      baseline: built.helloScript,
      // zod/mini and the request schemas the routes validate with, alone: what the stack's
      // input validation costs a cold start before any of Hono or of our own code.
      request_schemas: path.join(root, "src", "schemas", "requests.ts"),
      // The stack alone (bench/stack-floor): Hono, the validation hook, the request schemas and
      // the routes with empty handlers: what the fixed stack costs a cold start with this
      // contract before any of the API's own work, against which the budget can be read.
      stack_floor: path.join(root, "bench", "stack-floor", "index.ts"),
    },
    options.evalRuns,
  );

  progress("I/O per request: X-IO-Counts of one request per route (IO_COUNTERS=1)");
  const io = await measureIo(built);

  // (a) the baseline, (b) the API (its counters off: they add work of their own),
  // (c) the stand-in alone, a reference Worker making the list route's own D1 round trip
  // (bench/d1-floor), and the same Worker again for the local costs of D1 and the Cache API (its
  // own workerd, so that the cache's work never weighs on the D1 floor): all running at once,
  // each in its own workerd, so that runs to be compared can alternate.
  progress("starting the Workers");
  const floorQueries = io.list.d1_round_trips;
  if (floorQueries !== 1) {
    throw new Error(
      `list makes ${floorQueries} D1 round trips; the D1 floor (bench/d1-floor) makes its one`,
    );
  }
  const [hello, floor, bare, api, alone, purchaseFloor] = await Promise.all([
    startHello(root, built.helloScript),
    startD1Floor(root, built.d1FloorScript),
    startD1Floor(root, built.d1FloorScript),
    startApi(root, built.instrumentedScript, built.standinScripts, { ioCounters: false }),
    startStandin(root, built.standinScripts),
    startPurchaseFloor(root, built.purchaseFloorScript, built.standinScripts),
  ]);
  progress("migrating and seeding D1");
  const db = await api.mf.getD1Database("DB");
  await applyMigrations(db, root);
  const standin = await standinControl(api.mf);
  const livekit = await standinControl(api.mf, "livekit-standin");
  const aloneControl = await standinControl(alone.mf);
  const aloneLivekit = await standinControl(alone.mf, "livekit-standin");
  const floorTwilio = await standinControl(purchaseFloor.mf);
  const floorLivekit = await standinControl(purchaseFloor.mf, "livekit-standin");
  const controls = [standin, livekit, aloneControl, aloneLivekit, floorTwilio, floorLivekit];
  await Promise.all(controls.map((c) => c.reset()));
  const clearLogs = () => Promise.all(controls.map((c) => c.clearRequests()));
  /**
   * Both stand-ins of the API's instance (and, with `alone`, those of the stand-ins' own
   * instance and of the purchase I/O floor's).
   */
  const setLatency = (twilioMs, livekitMs, alone) =>
    Promise.all([
      standin.setLatency(twilioMs),
      livekit.setLatency(livekitMs),
      ...(alone
        ? [
            aloneControl.setLatency(twilioMs),
            aloneLivekit.setLatency(livekitMs),
            floorTwilio.setLatency(twilioMs),
            floorLivekit.setLatency(livekitMs),
          ]
        : []),
    ]);
  const npas = areaCodes();
  let nextNpa = 0;
  const takeNpa = () => {
    if (nextNpa >= npas.length) throw new Error("out of area codes");
    return npas[nextNpa++];
  };

  const [listWs, searchWs] = await seedWorkspaces(db, 2);
  await seedActiveNumbers(db, listWs.id, 20);
  // The reference Workers' D1 holds what list reads: the same schema, a workspace, its key and
  // its 20 numbers (their own, in their own workerd).
  const [floorWs, bareWs] = await Promise.all(
    [floor, bare].map(async ({ mf }) => {
      const floorDb = await mf.getD1Database("DB");
      await applyMigrations(floorDb, root);
      const [ws] = await seedWorkspaces(floorDb, 1);
      await seedActiveNumbers(floorDb, ws.id, 20);
      return ws;
    }),
  );
  const purchaseWs = await seedWorkspaces(db, 2 * options.purchases);
  // Fresh workspaces for each slice of the scale runs, so none nears the 100-number cap.
  const scaleWs = await seedWorkspaces(db, SLICES * (1 + SCALE_WORKSPACES));
  const client = createClient(api.url, 128);
  const standinClient = createClient(alone.url, 128);

  // The first request starts the isolate; everything measured runs on a warm Worker.
  await expect(client.request({ path: BASE, headers: listWs.auth }), 200, "first list");
  // And the floors read what list reads: its caller, then its 20 numbers.
  for (const [{ url }, ws] of [
    [floor, floorWs],
    [bare, bareWs],
  ]) {
    const floorClient = createClient(url, 1);
    const res = await expect(
      floorClient.request({ path: `/?key_hash=${ws.keyHash}` }),
      200,
      "D1 floor",
    );
    floorClient.close();
    const listed = JSON.parse(res.text).numbers.length;
    if (listed !== 20) throw new Error(`the D1 floor listed ${listed} numbers, not list's 20`);
  }

  // Purchases need numbers that a search returned to the same workspace: workspace i of
  // each group of 25 searches the group's own area code and buys the (2i)-th number returned
  // first, so that its outbound trunk exists, then (measured) the (2i+1)-th.
  progress(
    `preparing ${2 * options.purchases} purchase workspaces (one search and a first purchase each)`,
  );
  const perGroup = SEARCH_PAGE / 2;
  const groupNpas = [];
  const searched = await mapLimit(purchaseWs, 8, async (ws, i) => {
    const group = Math.floor(i / perGroup);
    groupNpas[group] ??= takeNpa();
    return searchAsWorkspace(client, ws, groupNpas[group]);
  });
  const firstPurchases = purchaseWs.map((ws, i) =>
    purchaseRequest(ws, searched[i][2 * (i % perGroup)], 0),
  );
  const purchaseRequests = purchaseWs.map((ws, i) =>
    purchaseRequest(ws, searched[i][2 * (i % perGroup) + 1], 1),
  );

  progress(`preparing ${scaleWs.length} scale workspaces (two searches and a first purchase each)`);
  await mapLimit(scaleWs, 8, async (ws) => {
    const numbers = [
      ...(await searchAsWorkspace(client, ws, takeNpa())),
      ...(await searchAsWorkspace(client, ws, takeNpa())),
    ];
    firstPurchases.push(purchaseRequest(ws, numbers[0], "first"));
    ws.numbers = numbers.slice(1);
  });
  checked("first purchases", combine([await runOnce(client, firstPurchases, 8, 201, 600)]));

  // The stand-in alone sells from its own inventory, untouched by the API's purchases.
  const standinNumbers = await standinNumbersForSale(
    standinClient,
    npas,
    2 * options.purchases,
    "stand-ins alone",
  );
  // The stand-ins alone: one outbound trunk for each direct purchase sequence to add its number
  // to, as each of the API's workspaces has its own; and, as each workspace's first purchase
  // left at the API's LiveKit stand-in, an inbound trunk with a dispatch rule beside each. The
  // stand-in checks every new trunk and rule against those sharing a number (an indexed lookup,
  // standins/livekit/project.ts), so what each side holds should not matter; both hold as many
  // all the same, so that no difference in the stand-ins' state can weigh on the comparison.
  const token = await livekitToken();
  const outboundTrunks = await mapLimit(
    Array.from({ length: 2 * options.purchases }, (_, i) => i),
    8,
    async (i) => {
      const inbound = await expect(
        standinClient.request(
          twirpRequest(token, "CreateSIPInboundTrunk", {
            trunk: { name: `inbound_bench${i}`, numbers: [`+1${String(9995550000 + i)}`] },
          }),
        ),
        200,
        "stand-in CreateSIPInboundTrunk",
      );
      await expect(
        standinClient.request(
          twirpRequest(token, "CreateSIPDispatchRule", {
            dispatch_rule: {
              name: `rule_bench${i}`,
              trunk_ids: [JSON.parse(inbound.text).sip_trunk_id],
              rule: { dispatch_rule_individual: { room_prefix: "call-" } },
              room_config: { agents: [{ agent_name: "bench" }] },
            },
          }),
        ),
        200,
        "stand-in CreateSIPDispatchRule",
      );
      return createOutboundTrunk(
        standinClient,
        token,
        `trunk_bench${i}`,
        `+1${String(2025550000 + i)}`,
        "stand-ins alone",
      );
    },
  );
  const floorOrders = await preparePurchaseFloor(purchaseFloor, token, npas);
  await clearLogs();
  await setLatency(options.twilioLatencyMs, options.livekitLatencyMs, true);

  progress(
    `baseline GET /, D1 floor (list's D1 round trip), list, D1 floor with a Cache API lookup: ${options.seconds} s each, alternating`,
  );
  const steady = { connections: options.connections, seconds: options.seconds, slices: SLICES };
  const [baselineParts, floorParts, listParts, lookupFloorParts] = await interleavedLoad(
    [
      { url: `${hello.url}/`, pids: hello.pids },
      { url: `${floor.url}/?key_hash=${floorWs.keyHash}`, pids: floor.pids },
      { url: `${api.url}${BASE}`, headers: listWs.auth, pids: api.pids },
      // list's I/O whole: its D1 round trips and its bookmark lookup (src/db/read-your-writes.ts).
      { url: `${bare.url}/?key_hash=${bareWs.keyHash}&lookups=1`, pids: bare.pids },
    ],
    steady,
  );
  progress("search: GET /v1/agents/phone-numbers/available?area_code=415");
  const [searchParts] = await interleavedLoad(
    [{ url: `${api.url}${BASE}/available?area_code=415`, headers: searchWs.auth, pids: api.pids }],
    { ...steady, slices: 1 },
  );
  await clearLogs();

  // Ours and the same upstream calls made directly, alternating halves, at the same concurrency.
  const purchaseRuns = [
    ["purchase", options.purchaseConcurrency, 0],
    ["purchase under load", options.connections, options.purchases],
  ];
  const purchases = [];
  const standinPurchases = [];
  const floorClient = createClient(purchaseFloor.url, 128);
  const purchaseFloorParts = [];
  const noLedgerFloorParts = [];
  for (const [name, concurrency, offset] of purchaseRuns) {
    progress(
      `${name}: ${options.purchases} purchases, ${concurrency} in flight, fresh workspaces (each with its trunk); the same upstream calls on the stand-ins alone`,
    );
    const ours = [];
    const theirs = [];
    const half = Math.ceil(options.purchases / SLICES);
    for (let slice = 0; slice < SLICES; slice++) {
      const from = offset + slice * half;
      const to = Math.min(offset + options.purchases, from + half);
      const maxSeconds = PURCHASE_RUN_MAX_SECONDS / SLICES;
      ours.push(
        await withCpu(api.pids, () =>
          runOnce(client, purchaseRequests.slice(from, to), concurrency, 201, maxSeconds),
        ),
      );
      await clearLogs();
      const requests = standinNumbers
        .slice(from, to)
        .map((e164, i) => directPurchase(token, e164, outboundTrunks[from + i], from + i));
      theirs.push(
        await withCpu(alone.pids, () =>
          runOnce(standinClient, requests, concurrency, 201, maxSeconds),
        ),
      );
      await clearLogs();
      // The purchase I/O floor, one at a time (as the main run), in the same slices.
      if (offset === 0) {
        for (const [parts, orders] of [
          [purchaseFloorParts, floorOrders.withLedger],
          [noLedgerFloorParts, floorOrders.withoutLedger],
        ]) {
          parts.push(
            await withCpu(purchaseFloor.pids, () =>
              runOnce(floorClient, orders.slice(from, to), concurrency, 201, maxSeconds),
            ),
          );
          await clearLogs();
        }
      }
    }
    purchases.push(checked(name, combine(ours)));
    standinPurchases.push(checked(`stand-ins, the same calls (${name})`, combine(theirs)));
  }

  // After the purchase runs it is set against, so that they run as they did before it existed.
  progress(
    `local D1 and Cache API: the bare Worker with no I/O, one D1 round trip, one Cache API lookup, one Cache API write, ${options.purchaseConcurrency} in flight (as the purchase run), alternating`,
  );
  const [bareParts, oneTripParts, lookupParts, writeParts] = await interleavedLoad(
    [
      { url: `${bare.url}/?n=0`, pids: bare.pids },
      { url: `${bare.url}/?n=1`, pids: bare.pids },
      { url: `${bare.url}/?n=0&lookups=1`, pids: bare.pids },
      { url: `${bare.url}/?n=0&writes=1`, pids: bare.pids },
    ],
    { connections: options.purchaseConcurrency, seconds: LOCAL_COSTS_SECONDS, slices: SLICES },
  );
  progress(
    `scale: ${SCALE_LATENCY_MS} ms Twilio and LiveKit latency, 1 then ${SCALE_WORKSPACES} workspaces, ${options.scaleSeconds} s each, alternating`,
  );
  await setLatency(SCALE_LATENCY_MS, SCALE_LATENCY_MS, false);
  const scaleParts = [[], []];
  for (let slice = 0; slice < SLICES; slice++) {
    const sliceWs = scaleWs.slice(
      slice * (1 + SCALE_WORKSPACES),
      (slice + 1) * (1 + SCALE_WORKSPACES),
    );
    const groups = [sliceWs.slice(0, 1), sliceWs.slice(1)];
    for (const [i, group] of groups.entries()) {
      scaleParts[i].push(
        await withCpu(api.pids, () => scaleSlice(client, group, options.scaleSeconds / SLICES)),
      );
      await clearLogs();
    }
  }
  progress(
    `noisy neighbour: ${NOISY_VICTIM_PURCHASES} purchases one at a time, half of them while another workspace floods search (${NOISY_FLOOD_IN_FLIGHT} in flight); Twilio and LiveKit +${SCALE_LATENCY_MS} ms`,
  );
  const noisy = await noisyNeighbour(client, db, takeNpa, api.pids);
  await clearLogs();

  client.close();
  standinClient.close();
  floorClient.close();
  await Promise.all([hello, floor, bare, api, alone, purchaseFloor].map((w) => stop(w.mf)));

  progress(
    `Twilio gate: ${GATE_SEARCHES} searches through it and as many without, on two fresh instances, alternating`,
  );
  const gate = await gateCost(built);

  return {
    bundle,
    baselineBundle,
    evals,
    io,
    baseline: combine(baselineParts),
    d1Floor: { ...combine(floorParts), queries: floorQueries },
    lookupFloor: { ...combine(lookupFloorParts), queries: floorQueries },
    localCosts: {
      bare: combine(bareParts),
      oneTrip: combine(oneTripParts),
      lookup: combine(lookupParts),
      write: combine(writeParts),
    },
    list: combine(listParts),
    search: combine(searchParts),
    purchase: purchases[0],
    purchaseLoaded: purchases[1],
    standinPurchase: standinPurchases[0],
    standinPurchaseLoaded: standinPurchases[1],
    purchaseFloor: checked("purchase I/O floor", combine(purchaseFloorParts)),
    purchaseFloorNoLedger: checked(
      "purchase I/O floor without the ledger",
      combine(noLedgerFloorParts),
    ),
    scaleOne: checked("scale, 1 workspace", combine(scaleParts[0])),
    scaleFifty: checked("scale, 50 workspaces", combine(scaleParts[1])),
    noisy,
    gate,
  };
}

// ---- Results ------------------------------------------------------------------------------

function machine() {
  const cpus = os.cpus();
  let workerd = null;
  try {
    workerd = execFileSync(path.join(root, "node_modules", ".bin", "workerd"), ["--version"])
      .toString()
      .trim();
  } catch {
    // Reported as null.
  }
  return {
    cpu_model: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node_version: process.version,
    workerd_version: workerd,
  };
}

const round = (value, digits = 2) =>
  typeof value === "number" && Number.isFinite(value)
    ? Math.round(value * 10 ** digits) / 10 ** digits
    : null;

function buildResults(m) {
  const ioOf = (name) => m.io[name];
  const cpu = (load) => ({
    workerd_cpu_ms_per_request: round(load.workerd_cpu_ms_per_request),
    workerd_cpu_utilization: round(load.workerd_cpu_utilization),
  });
  const loadOf = (load) => ({
    rps: round(load.rps, 1),
    p50_ms: round(load.p50_ms),
    p99_ms: round(load.p99_ms),
    requests: load.ok,
    ...cpu(load),
  });
  // Against the same upstream calls made directly (Twilio's purchase and LiveKit's three).
  const overhead = m.purchase.p50_ms - m.standinPurchase.p50_ms;
  // The same measure for the bare Worker and object making the purchase's I/O and nothing else.
  const floorOverhead = m.purchaseFloor.p50_ms - m.standinPurchase.p50_ms;
  const overheadLoaded = m.purchaseLoaded.p50_ms - m.standinPurchaseLoaded.p50_ms;
  // The figure's meaning up to 2026-12-01: against Twilio's purchase alone.
  const overTwilio = m.purchase.p50_ms - m.standinPurchase.step_p50_ms.twilio_purchase;
  const evalRatio = m.evals.ours.median_ms / m.evals.baseline.median_ms;
  const listRatio = m.list.rps / m.baseline.rps;
  const listFloorRatio = m.list.rps / m.d1Floor.rps;
  const scaleRatio = m.scaleFifty.rps / m.scaleOne.rps;
  // What this machine's emulations of D1 and of the Cache API add to a request's p50, measured
  // on the bare Worker (bench-d1-floor) at the purchase run's concurrency. The API pays them too:
  // a purchase its D1 round trips and the write of its bookmark (src/db/read-your-writes.ts),
  // list its D1 round trip and its bookmark lookup. In production neither D1's nor the cache's
  // work runs on the Worker's CPU, which is what makes them this costly here.
  const local = m.localCosts;
  const d1TripMs = local.oneTrip.p50_ms - local.bare.p50_ms;
  const cacheLookupMs = local.lookup.p50_ms - local.bare.p50_ms;
  const cacheWriteMs = local.write.p50_ms - local.bare.p50_ms;
  const purchaseLocalMs = (m.io.purchase.d1_round_trips ?? 0) * d1TripMs + cacheWriteMs;
  const listLookupFloorRatio = m.list.rps / m.lookupFloor.rps;
  const reads = ["list", "get", "search"];
  const budget = (limit, value, pass) => ({
    limit,
    value: value === null ? null : round(value, 3),
    pass: value !== null && pass,
  });
  const readD1 = reads.map((r) => m.io[r].d1_round_trips);
  const readLiveKit = ["list", "get"].map((r) => m.io[r].livekit_calls);
  const purchaseLiveKit = m.io.purchase.livekit_calls;
  const budgets = {
    // A guard against the classic zod API (or another large dependency), not a target.
    bundle_minified_bytes: budget(
      `<= ${BUNDLE_LIMIT_BYTES} (256 KiB)`,
      m.bundle.minified_bytes,
      m.bundle.minified_bytes <= BUNDLE_LIMIT_BYTES,
    ),
    eval_ratio: budget(
      `<= ${EVAL_RATIO_LIMIT}x baseline`,
      evalRatio,
      evalRatio <= EVAL_RATIO_LIMIT,
    ),
    purchase_do_calls: budget("= 1", m.io.purchase.do_calls, m.io.purchase.do_calls === 1),
    purchase_d1_round_trips: budget(
      "<= 3",
      m.io.purchase.d1_round_trips,
      m.io.purchase.d1_round_trips <= 3,
    ),
    read_d1_round_trips: budget(
      "<= 2 for each of list, get, search",
      readD1.includes(null) ? null : Math.max(...readD1),
      readD1.every((n) => n !== null && n <= 2),
    ),
    // Against the bare Worker making list's D1 round trips (d1_floor), no longer the hello
    // baseline: locally a D1 round trip alone costs more CPU than all of hello.
    list_rps_ratio: budget(
      `>= ${LIST_FLOOR_RATIO_LIMIT} of d1_floor`,
      listFloorRatio,
      listFloorRatio >= LIST_FLOOR_RATIO_LIMIT,
    ),
    purchase_livekit_calls: budget(
      `<= ${PURCHASE_LIVEKIT_LIMIT} (with agent_id, the workspace's outbound trunk existing)`,
      purchaseLiveKit,
      purchaseLiveKit !== null && purchaseLiveKit <= PURCHASE_LIVEKIT_LIMIT,
    ),
    read_livekit_calls: budget(
      "= 0 for each of list, get",
      readLiveKit.includes(null) ? null : Math.max(...readLiveKit),
      readLiveKit.every((n) => n === 0),
    ),
    purchase_overhead_p50_ms: budget("<= 5 ms", overhead, overhead <= 5),
    scale_ratio: budget(">= 10", scaleRatio, scaleRatio >= 10),
  };
  return {
    generated_at: new Date().toISOString(),
    machine: {
      ...machine(),
      loadavg_1m_at_start: round(loadAtStart),
      loadavg_1m_at_end: round(os.loadavg()[0]),
    },
    options: {
      twilio_latency_ms: options.twilioLatencyMs,
      livekit_latency_ms: options.livekitLatencyMs,
      steady_load_seconds: options.seconds,
      connections: options.connections,
      slices: SLICES,
      purchases: options.purchases,
      purchase_concurrency: options.purchaseConcurrency,
      purchase_under_load_concurrency: options.connections,
      scale_seconds: options.scaleSeconds,
      scale_twilio_latency_ms: SCALE_LATENCY_MS,
      scale_livekit_latency_ms: SCALE_LATENCY_MS,
      eval_runs: options.evalRuns,
      miniflare_storage: tmp.startsWith("/dev/shm/") ? "tmpfs (/dev/shm)" : os.tmpdir(),
    },
    bundle: m.bundle,
    baseline_bundle: m.baselineBundle,
    eval_ms: {
      ours: round(m.evals.ours.median_ms, 3),
      baseline: round(m.evals.baseline.median_ms, 3),
      request_schemas: round(m.evals.request_schemas.median_ms, 3),
      stack_floor: round(m.evals.stack_floor.median_ms, 3),
    },
    baseline: loadOf(m.baseline),
    d1_floor: { d1_round_trips: m.d1Floor.queries, ...loadOf(m.d1Floor) },
    routes: {
      list: { ...loadOf(m.list), ...ioOf("list") },
      search: { ...loadOf(m.search), ...ioOf("search") },
      purchase: {
        ...loadOf(m.purchase),
        ...ioOf("purchase"),
        agent_id: true,
        // The workspace's first purchase (it creates the outbound trunk), from the I/O phase.
        first_purchase: m.io.firstPurchase,
        concurrency: options.purchaseConcurrency,
        under_load: {
          ...loadOf(m.purchaseLoaded),
          concurrency: options.connections,
          overhead_p50_ms: round(overheadLoaded),
        },
      },
      get: ioOf("get"),
      patch: ioOf("patch"),
      delete: ioOf("delete"),
    },
    purchase_overhead_p50_ms: round(overhead),
    purchase_minus_twilio_p50_ms: round(overTwilio),
    // bench/purchase-floor: the purchase's I/O alone (its D1 round trips, object call, ledger
    // commits, Twilio gate hop, upstream calls and bookmark write), one at a time in the same
    // slices as the purchase run; its overhead is measured as the purchase's, and what the
    // purchase's own overhead adds to it is the API's own work.
    purchase_io_floor: {
      ...loadOf(m.purchaseFloor),
      overhead_p50_ms: round(floorOverhead),
      purchase_overhead_over_floor_ms: round(overhead - floorOverhead),
      // The same without the object's four commits and its alarm: what those cost, by difference.
      without_ledger: {
        ...loadOf(m.purchaseFloorNoLedger),
        overhead_p50_ms: round(m.purchaseFloorNoLedger.p50_ms - m.standinPurchase.p50_ms),
      },
      ledger_commits_p50_ms: round(m.purchaseFloor.p50_ms - m.purchaseFloorNoLedger.p50_ms),
    },
    local_costs: {
      // p50 added by one call to Miniflare's D1 or Cache API: the bare Worker with the call
      // minus without, at the purchase run's concurrency.
      concurrency: options.purchaseConcurrency,
      d1_round_trip_p50_ms: round(d1TripMs),
      cache_lookup_p50_ms: round(cacheLookupMs),
      cache_write_p50_ms: round(cacheWriteMs),
      bare_worker: loadOf(local.bare),
      one_d1_round_trip: loadOf(local.oneTrip),
      one_cache_lookup: loadOf(local.lookup),
      one_cache_write: loadOf(local.write),
      // The purchase's D1 round trips and its bookmark's Cache API write at those costs, and
      // what is left of its overhead: the API's own work, its Twilio gate call included.
      purchase_d1_and_cache_write_p50_ms: round(purchaseLocalMs),
      purchase_overhead_less_those_ms: round(overhead - purchaseLocalMs),
      // list against the bare Worker making its D1 round trips and its bookmark lookup
      // (10 connections, as list).
      d1_and_cache_lookup_floor: {
        d1_round_trips: m.lookupFloor.queries,
        ...loadOf(m.lookupFloor),
      },
      list_rps_over_d1_and_cache_lookup_floor: round(listLookupFloorRatio, 3),
    },
    standin: {
      // The same upstream calls as a purchase, made directly, one after the other.
      calls: [
        "twilio IncomingPhoneNumbers POST",
        "livekit UpdateSIPOutboundTrunk (add)",
        "livekit CreateSIPInboundTrunk",
        "livekit CreateSIPDispatchRule",
      ],
      purchase_p50_ms: round(m.standinPurchase.p50_ms),
      purchase_p99_ms: round(m.standinPurchase.p99_ms),
      purchase_rps: round(m.standinPurchase.rps, 1),
      steps_p50_ms: Object.fromEntries(
        Object.entries(m.standinPurchase.step_p50_ms).map(([k, v]) => [k, round(v)]),
      ),
      twilio_purchase_p50_ms: round(m.standinPurchase.step_p50_ms.twilio_purchase),
      ...cpu(m.standinPurchase),
      under_load: loadOf(m.standinPurchaseLoaded),
    },
    scale: {
      one_workspace_pps: round(m.scaleOne.rps, 1),
      fifty_workspaces_pps: round(m.scaleFifty.rps, 1),
      ratio: round(scaleRatio),
      one_workspace: loadOf(m.scaleOne),
      fifty_workspaces: loadOf(m.scaleFifty),
    },
    noisy_neighbour: {
      twilio_latency_ms: SCALE_LATENCY_MS,
      livekit_latency_ms: SCALE_LATENCY_MS,
      victim_purchase_p50_ms: round(m.noisy.flooded.p50_ms),
      victim_purchase_p99_ms: round(m.noisy.flooded.p99_ms),
      victim_purchases: m.noisy.flooded.ok,
      no_flood: {
        victim_purchase_p50_ms: round(m.noisy.quiet.p50_ms),
        victim_purchase_p99_ms: round(m.noisy.quiet.p99_ms),
        victim_purchases: m.noisy.quiet.ok,
      },
      victim_p99_over_no_flood: round(m.noisy.flooded.p99_ms / m.noisy.quiet.p99_ms),
      flood: {
        in_flight: NOISY_FLOOD_IN_FLIGHT,
        requests: m.noisy.flood.requests,
        rps: round(m.noisy.flood.requests / m.noisy.flood.seconds, 1),
        status_counts: m.noisy.flood.statusCounts,
        server_errors: Object.entries(m.noisy.flood.statusCounts)
          .filter(([status]) => status === "error" || Number(status) >= 500)
          .reduce((sum, [, n]) => sum + n, 0),
      },
      // Locally one workerd thread runs every Worker and object: the flood competes for it.
      workerd_cpu_utilization: {
        no_flood: round(m.noisy.quiet.workerd_cpu_utilization),
        flood: round(m.noisy.flooded.workerd_cpu_utilization),
      },
    },
    twilio_gate: {
      max_concurrency: gateConcurrency(),
      searches: m.gate.gated.ok,
      search_p50_ms: round(m.gate.gated.p50_ms),
      search_p99_ms: round(m.gate.gated.p99_ms),
      search_p50_ms_without_gate: round(m.gate.direct.p50_ms),
      search_p99_ms_without_gate: round(m.gate.direct.p99_ms),
      cost_p50_ms_per_call: round(m.gate.gated.p50_ms - m.gate.direct.p50_ms),
      workerd_cpu_ms_per_search: round(m.gate.gated.workerd_cpu_ms_per_request),
      workerd_cpu_ms_per_search_without_gate: round(m.gate.direct.workerd_cpu_ms_per_request),
      cost_cpu_ms_per_call: round(
        m.gate.gated.workerd_cpu_ms_per_request - m.gate.direct.workerd_cpu_ms_per_request,
      ),
    },
    ratios: {
      list_rps_over_baseline: round(listRatio, 3),
      list_rps_over_d1_floor: round(listFloorRatio, 3),
      eval_ours_over_baseline: round(evalRatio, 3),
      // Information, no budget: the fixed stack's own share (bench/stack-floor).
      eval_stack_floor_over_baseline: round(
        m.evals.stack_floor.median_ms / m.evals.baseline.median_ms,
        3,
      ),
    },
    budgets,
    all_budgets_pass: Object.values(budgets).every((b) => b.pass),
    ...regionsResults(m.io, "full"),
  };
}

/**
 * The latency model's keys of results.json (bench/lib/latency-model.mjs): each route's recorded
 * trips (its X-IO-Trace, from the I/O phase) replayed against bench/regions.mjs's round trips,
 * from each client region, ours and single-region, and the model's budgets.
 */
function regionsResults(io, run) {
  const traces = Object.fromEntries(
    Object.entries(io).map(([route, counts]) => [route, counts.io_trace]),
  );
  const model = modelRoutes(traces, places, CLIENT_REGIONS);
  const budgets = modelBudgets(model, places, CLIENT_REGIONS);
  return {
    ...model,
    regions_model: {
      generated_at: new Date().toISOString(),
      run,
      d1_primary: { location_hint: places.d1PrimaryHint, region: places.primary },
      twilio_region: places.twilio,
      livekit_region: places.livekit,
      client_regions: CLIENT_REGIONS,
      farthest_region: farthestRegion(places, CLIENT_REGIONS),
      assumptions: [
        "modeled_ms: the round trips of the route's recorded trips (X-IO-Trace) added up, beyond the client's own trip to its nearest Cloudflare location; compute (the Worker's, D1's query time) is left out",
        "ours: the Worker in the client's region; a replica-eligible D1 read (d1_unconstrained, d1_bookmark) at the client region's replica, a bookmark read counted as a replica trip although it may wait for the replica to catch up; other D1 trips at the primary",
        "the workspace object: in the region of the location hint it was asked for with; without one, where its first request came from, taken to be the client's region (ours) or the primary's (single-region); its own trips start from there",
        "single-region: the same code with the Worker in the D1 primary's region: one trip (entry) from the client's region to it, then every trip from there",
        "a trip to another data centre of the same region costs that region's own figure in rtt_ms, never 0; trips that overlapped are added up all the same (an upper bound)",
      ],
      cities: REGIONS,
      rtt_ms: RTT_PAIRS,
      sources: SOURCES,
      io,
    },
    regions_budgets: budgets,
    regions_all_budgets_pass: Object.values(budgets).every((b) => b.pass),
  };
}

/** Each route's trips as recorded, then the model's table. */
function regionsReport(r) {
  const traces = Object.entries(r.regions_model.io).map(
    ([route, x]) => `  ${route}: ${x.io_trace ?? `not measured (${x.error?.slice(0, 80)})`}`,
  );
  return [
    "Trips recorded (X-IO-Trace):",
    ...traces,
    "",
    regionsTable(r, places, CLIENT_REGIONS),
  ].join("\n");
}

function table(r) {
  const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
  const ms = (v) => (v === null ? "-" : `${Number(v.toFixed(2))} ms`);
  const io = (x) =>
    x.d1_round_trips === null
      ? `I/O not measured: ${x.error.slice(0, 8)} (${(x.worker_logged.at(-1) ?? x.error.slice(9)).slice(0, 90)})`
      : `D1 ${x.d1_round_trips}${x.d1_session_round_trips ? ` (${x.d1_session_round_trips} in a session)` : ""}, DO ${x.do_calls}, Twilio ${x.twilio_calls}, LiveKit ${x.livekit_calls}`;
  const noLiveKit = (x) => (x.livekit_calls === 0 ? "pass" : "FAIL");
  const atMost = (x, d1) => (x.d1_round_trips !== null && x.d1_round_trips <= d1 ? "pass" : "FAIL");
  const cpu = (x) =>
    x.workerd_cpu_ms_per_request === null ? "" : `, CPU ${ms(x.workerd_cpu_ms_per_request)}/req`;
  const load = (x) => `${x.rps.toFixed(0)}/s, p50 ${ms(x.p50_ms)}, p99 ${ms(x.p99_ms)}${cpu(x)}`;
  const verdict = (...names) => (names.every((n) => r.budgets[n].pass) ? "pass" : "FAIL");
  const both = (...verdicts) => (verdicts.every((v) => v === "pass") ? "pass" : "FAIL");
  const p = r.routes.purchase;
  const s = r.scale;
  const size = (b) =>
    `${kib(b.minified_bytes)} (${b.minified_bytes} B), gzip ${kib(b.gzip_bytes)} (${b.gzip_bytes} B)`;
  const busy = (x) =>
    x.workerd_cpu_utilization === null
      ? ""
      : `, workerd busy ${(x.workerd_cpu_utilization * 100).toFixed(0)}%`;
  const rows = [
    ["measurement", "value", "budget", "result"],
    [
      "bundle, production, minified",
      size(r.bundle),
      `<= ${BUNDLE_LIMIT_BYTES / 1024} KiB`,
      verdict("bundle_minified_bytes"),
    ],
    ["baseline bundle (hello)", size(r.baseline_bundle), "", ""],
    [
      `module evaluation, median of ${r.options.eval_runs}`,
      `ours ${ms(r.eval_ms.ours)}, baseline ${ms(r.eval_ms.baseline)}: ${r.ratios.eval_ours_over_baseline.toFixed(2)}x`,
      `<= ${EVAL_RATIO_LIMIT}x baseline`,
      verdict("eval_ratio"),
    ],
    [
      "module evaluation: zod/mini and the request schemas alone",
      `${ms(r.eval_ms.request_schemas)}: ${(r.eval_ms.request_schemas / r.eval_ms.baseline).toFixed(2)}x baseline`,
      "",
      "",
    ],
    [
      "module evaluation: the stack alone (Hono, validation, routes echoing)",
      `${ms(r.eval_ms.stack_floor)}: ${(r.eval_ms.stack_floor / r.eval_ms.baseline).toFixed(2)}x baseline`,
      "",
      "",
    ],
    ["baseline: hello GET /", load(r.baseline), "", ""],
    [
      `D1 floor: bare Worker, list's D1 round trip (its caller and 20 numbers)`,
      load(r.d1_floor),
      "",
      "",
    ],
    [
      `local D1 and Cache API (Miniflare's): p50 added by one call, bare Worker, ${r.local_costs.concurrency} in flight`,
      `D1 round trip ${ms(r.local_costs.d1_round_trip_p50_ms)}, Cache API lookup ${ms(r.local_costs.cache_lookup_p50_ms)}, Cache API write ${ms(r.local_costs.cache_write_p50_ms)} (bare Worker: ${load(r.local_costs.bare_worker)})`,
      "",
      "",
    ],
    [
      "list (20 numbers)",
      `${load(r.routes.list)}; ${(r.ratios.list_rps_over_baseline * 100).toFixed(0)}% of baseline, ${(r.ratios.list_rps_over_d1_floor * 100).toFixed(0)}% of D1 floor, ${(r.local_costs.list_rps_over_d1_and_cache_lookup_floor * 100).toFixed(0)}% of the bare Worker making its D1 round trip and its bookmark lookup; ${io(r.routes.list)}`,
      `>= ${LIST_FLOOR_RATIO_LIMIT * 100}% of D1 floor; D1 <= 2; LiveKit 0`,
      both(verdict("list_rps_ratio"), atMost(r.routes.list, 2), noLiveKit(r.routes.list)),
    ],
    [
      "get",
      io(r.routes.get),
      "D1 <= 2; LiveKit 0",
      both(atMost(r.routes.get, 2), noLiveKit(r.routes.get)),
    ],
    [
      "search (area_code=415)",
      `${load(r.routes.search)}; ${io(r.routes.search)}`,
      "D1 <= 2",
      atMost(r.routes.search, 2),
    ],
    [
      `purchase with agent_id, trunk exists (${p.requests}, ${p.concurrency} in flight)`,
      `${load(p)}; ${io(p)}`,
      `D1 <= 3, DO = 1, LiveKit <= ${PURCHASE_LIVEKIT_LIMIT}`,
      verdict("purchase_d1_round_trips", "purchase_do_calls", "purchase_livekit_calls"),
    ],
    [
      "first purchase of a workspace (creates its trunk)",
      p.first_purchase ? io(p.first_purchase) : "not measured",
      "",
      "",
    ],
    [
      "stand-ins alone, the same 4 calls in a row",
      `${r.standin.purchase_rps.toFixed(0)}/s, p50 ${ms(r.standin.purchase_p50_ms)}, p99 ${ms(r.standin.purchase_p99_ms)}${cpu(r.standin)}; p50 of each: ${Object.entries(
        r.standin.steps_p50_ms,
      )
        .map(([k, v]) => `${k} ${ms(v)}`)
        .join(", ")}`,
      "",
      "",
    ],
    [
      "purchase overhead p50",
      `${ms(r.purchase_overhead_p50_ms)} (purchase p50 minus the same calls' direct p50; minus Twilio's alone: ${ms(r.purchase_minus_twilio_p50_ms)}); of it, local D1 (${p.d1_round_trips} round trips) and the bookmark's Cache API write ${ms(r.local_costs.purchase_d1_and_cache_write_p50_ms)}, the rest ${ms(r.local_costs.purchase_overhead_less_those_ms)}`,
      "<= 5 ms",
      verdict("purchase_overhead_p50_ms"),
    ],
    [
      "purchase I/O floor",
      `${load(r.purchase_io_floor)}; its overhead p50 ${ms(r.purchase_io_floor.overhead_p50_ms)} (bench/purchase-floor: the purchase's I/O alone), of it the object's 4 commits and alarm ${ms(r.purchase_io_floor.ledger_commits_p50_ms)}; the purchase's overhead is ${ms(r.purchase_io_floor.purchase_overhead_over_floor_ms)} more`,
      "",
      "",
    ],
    [
      `purchase under load (${p.under_load.requests}, ${p.under_load.concurrency} in flight)`,
      `${load(p.under_load)}; overhead p50 ${ms(p.under_load.overhead_p50_ms)} (stand-ins alone: ${load(r.standin.under_load)})`,
      "",
      "",
    ],
    ["patch", io(r.routes.patch), "", ""],
    ["delete", io(r.routes.delete), "", ""],
    [
      `scale: 1 workspace (Twilio, LiveKit +${r.options.scale_twilio_latency_ms} ms)`,
      `${s.one_workspace_pps.toFixed(1)} purchases/s (${s.one_workspace.requests} in ${r.options.scale_seconds} s), p50 ${ms(s.one_workspace.p50_ms)}${cpu(s.one_workspace)}`,
      "",
      "",
    ],
    [
      `scale: 50 workspaces (Twilio, LiveKit +${r.options.scale_twilio_latency_ms} ms)`,
      `${s.fifty_workspaces_pps.toFixed(1)} purchases/s (${s.fifty_workspaces.requests}), p50 ${ms(s.fifty_workspaces.p50_ms)}${cpu(s.fifty_workspaces)}${busy(s.fifty_workspaces)}: ${s.ratio.toFixed(1)}x 1 workspace`,
      ">= 10x",
      verdict("scale_ratio"),
    ],
  ];
  const n = r.noisy_neighbour;
  const g = r.twilio_gate;
  const counts = Object.entries(n.flood.status_counts)
    .map(([status, count]) => `${count} x ${status}`)
    .join(", ");
  rows.push(
    [
      `noisy neighbour: victim purchases, 1 at a time (Twilio, LiveKit +${n.twilio_latency_ms} ms)`,
      `during the flood: p50 ${ms(n.victim_purchase_p50_ms)}, p99 ${ms(n.victim_purchase_p99_ms)} (${n.victim_purchases}), workerd busy ${(n.workerd_cpu_utilization.flood * 100).toFixed(0)}%; without: p50 ${ms(n.no_flood.victim_purchase_p50_ms)}, p99 ${ms(n.no_flood.victim_purchase_p99_ms)} (${n.no_flood.victim_purchases}), busy ${(n.workerd_cpu_utilization.no_flood * 100).toFixed(0)}%; p99 ${n.victim_p99_over_no_flood}x`,
      "",
      "",
    ],
    [
      `noisy neighbour: the flood (${n.flood.in_flight} in flight, default limits)`,
      `${n.flood.requests} searches, ${n.flood.rps.toFixed(0)}/s: ${counts}; server errors ${n.flood.server_errors}`,
      "",
      "",
    ],
    [
      `Twilio gate (${g.max_concurrency} permits): search, 1 at a time`,
      `through it p50 ${ms(g.search_p50_ms)}, CPU ${ms(g.workerd_cpu_ms_per_search)}/req; without p50 ${ms(g.search_p50_ms_without_gate)}, CPU ${ms(g.workerd_cpu_ms_per_search_without_gate)}/req: ${ms(g.cost_p50_ms_per_call)}, CPU ${ms(g.cost_cpu_ms_per_call)} per call`,
      "",
      "",
    ],
  );
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row) => `| ${row.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`;
  const m = r.machine;
  const note =
    m.loadavg_1m_at_start > 0.5
      ? `\nNote: load average ${m.loadavg_1m_at_start} at start: other processes were using the CPU, so throughput may read low.`
      : "";
  return [
    `Phone-numbers benchmark, ${r.generated_at}`,
    `${m.cpu_model}, ${m.cores} cores, ${m.memory_gib} GiB; Node ${m.node_version}; ${m.workerd_version}; Twilio stand-in latency ${r.options.twilio_latency_ms} ms, LiveKit ${r.options.livekit_latency_ms} ms${note}`,
    "",
    line(rows[0]),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.slice(1).map(line),
    "",
    r.all_budgets_pass
      ? "All budgets met."
      : `Budgets missed: ${Object.entries(r.budgets)
          .filter(([, b]) => !b.pass)
          .map(([name, b]) => `${name} = ${b.value} (${b.limit})`)
          .join("; ")}`,
  ].join("\n");
}

/** `--regions`: the builds, the I/O phase and the latency model only. */
async function mainRegions() {
  progress(`building into ${tmp}`);
  const built = await buildAll(root, tmp);
  progress("I/O per request: X-IO-Counts and X-IO-Trace of one request per route (IO_COUNTERS=1)");
  return measureIo(built);
}

/** The results file as it is, to keep its other keys; {} when there is none. */
function previousResults(file) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return {};
  }
  return JSON.parse(text);
}

let exitCode = 0;
try {
  if (flags.regions) {
    const io = await mainRegions();
    const results = { ...previousResults(flags.out), ...regionsResults(io, "--regions") };
    writeFileSync(flags.out, `${JSON.stringify(results, null, 2)}\n`);
    console.log(regionsReport(results));
    if (flags.strict && !results.regions_all_budgets_pass) exitCode = 1;
  } else {
    const measured = await main();
    const results = buildResults(measured);
    writeFileSync(flags.out, `${JSON.stringify(results, null, 2)}\n`);
    console.log(table(results));
    console.log(`\n${regionsReport(results)}`);
    if (flags.strict && !(results.all_budgets_pass && results.regions_all_budgets_pass)) {
      exitCode = 1;
    }
  }
  progress(`done; results in ${path.relative(process.cwd(), flags.out) || flags.out}`);
} catch (error) {
  console.error(error);
  if (workerLogTail.length > 0) {
    console.error(`Last warnings and errors the Workers logged:\n${workerLogTail.join("\n")}`);
  }
  exitCode = 2;
} finally {
  await cleanup();
}
process.exit(exitCode);
