// `npm run bench`: builds the API and a baseline Hono Worker, runs them in Miniflare (workerd)
// on 127.0.0.1, drives load at them from this process, prints one table and writes
// bench/results.json. See bench/README.md for the method and how to read each number.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildAll, bundleSize } from "./lib/build.mjs";
import { withWorkerdCpu } from "./lib/cpu.mjs";
import { measureEval } from "./lib/eval.mjs";
import { createClient, runOnce, summarize } from "./lib/http.mjs";
import { steadyLoad } from "./lib/load.mjs";
import { applyMigrations, areaCodes, seedActiveNumbers, seedWorkspaces } from "./lib/seed.mjs";
import {
  standinControl,
  startApi,
  startD1Floor,
  startHello,
  startStandin,
  stop,
  stopAll,
  workerLogTail,
} from "./lib/workers.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const USAGE = `Usage: npm run bench -- [options]
  --twilio-latency-ms N       latency the Twilio stand-in adds to every call (default 0)
  --seconds S                 duration of each steady-load run: baseline, list, search (default 5)
  --connections C             concurrent connections of the steady-load runs (default 10)
  --purchases N               purchases of each purchase run, one fresh workspace each (default 300)
  --purchase-concurrency C    purchases in flight in the main purchase run, ours and the
                              stand-in's (default 1); the "under load" run uses --connections
  --scale-seconds S           duration of each scale run, 1 and 50 workspaces (default 5)
  --eval-runs N               fresh evaluations of each bundle (default 20)
  --out FILE                  where to write the results (default bench/results.json)
  --strict                    exit 1 when a budget is missed
  --help`;

const { values: flags } = parseArgs({
  options: {
    "twilio-latency-ms": { type: "string", default: "0" },
    seconds: { type: "string", default: "5" },
    connections: { type: "string", default: "10" },
    purchases: { type: "string", default: "300" },
    "purchase-concurrency": { type: "string", default: "1" },
    "scale-seconds": { type: "string", default: "5" },
    "eval-runs": { type: "string", default: "20" },
    out: { type: "string", default: path.join(root, "bench", "results.json") },
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
  seconds: intFlag("seconds", 1, 60),
  connections: intFlag("connections", 1, 256),
  purchases: intFlag("purchases", 10, 1000),
  purchaseConcurrency: intFlag("purchase-concurrency", 1, 64),
  scaleSeconds: intFlag("scale-seconds", 1, 30),
  evalRuns: intFlag("eval-runs", 3, 100),
};
const SCALE_LATENCY_MS = 50;
const SCALE_WORKSPACES = 50;
/** A workspace holds at most 100 numbers of any source (TOTAL_NUMBER_LIMIT in src/config.ts). */
const SCALE_MAX_PER_WORKSPACE = 95;
const SEARCH_PAGE = 50;
/** A purchase run stops starting requests after this, whatever --purchases says. */
const PURCHASE_RUN_MAX_SECONDS = 10;

const started = performance.now();
const loadAtStart = os.loadavg()[0];
const progress = (message) =>
  console.error(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}`);

// ---- Cleanup: temp files and every Miniflare, however the run ends ------------------------

const tmp = mkdtempSync(path.join(os.tmpdir(), "phone-numbers-bench-"));
let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the Workers and removing ${tmp}`);
    cleanup().finally(() => process.exit(130));
  });
}

// ---- Helpers ------------------------------------------------------------------------------

function ioCounts(res) {
  const header = res.headers["x-io-counts"];
  const match = /d1=(\d+); do=(\d+)/.exec(header ?? "");
  if (!match) throw new Error(`no X-IO-Counts header (status ${res.status}): ${res.text}`);
  return { d1_round_trips: Number(match[1]), do_calls: Number(match[2]) };
}

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

const BASE = "/v1/agents/phone-numbers";

function purchaseRequest(ws, e164, n) {
  return {
    method: "POST",
    path: `${BASE}/purchase`,
    headers: { ...ws.auth, "idempotency-key": `bench-${ws.id}-${n}` },
    body: { e164 },
  };
}

/** Searches through the API as `ws`; the returned numbers are now buyable by `ws`. */
async function searchAsWorkspace(client, ws, npa, limit = SEARCH_PAGE) {
  const res = await expect(
    client.request({
      path: `${BASE}/available?area_code=${npa}&limit=${limit}`,
      headers: ws.auth,
    }),
    200,
    `search ${npa}`,
  );
  return JSON.parse(res.text).numbers.map((n) => n.e164);
}

/**
 * Scale: one client per workspace, each issuing purchases back to back (one in flight per
 * workspace) until `seconds` have passed or its numbers run out.
 */
async function scaleRun(client, workspaces, seconds) {
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const latencies = [];
  const failures = [];
  let last = t0;
  await Promise.all(
    workspaces.map(async (ws) => {
      let n = 0;
      for (const e164 of ws.numbers) {
        if (performance.now() >= deadline || n >= SCALE_MAX_PER_WORKSPACE) break;
        n++;
        try {
          const res = await client.request(purchaseRequest(ws, e164, `scale-${n}`));
          if (res.status === 201) latencies.push(res.ms);
          else failures.push(`${res.status} ${res.text.slice(0, 200)}`);
        } catch (error) {
          failures.push(String(error));
        }
        last = Math.max(last, performance.now());
      }
    }),
  );
  const result = summarize(latencies, failures, (last - t0) / 1000);
  return { ...result, pps: result.rps, workspaces: workspaces.length };
}

function checkRun(name, result) {
  if (result.failed > 0) {
    throw new Error(
      `${name}: ${result.failed} of ${result.ok + result.failed} requests failed, e.g.\n  ${result.failures.join("\n  ")}`,
    );
  }
  return result;
}

/**
 * D1 round trips and Durable Object calls of one representative request per route, from the
 * X-IO-Counts header of an API started with IO_COUNTERS=1; each measured request follows a
 * first one of the same kind, on the same warm Worker. A request that fails leaves its route
 * unmeasured (null) with the reason.
 */
async function measureIo(built) {
  const api = await startApi(root, built.devScript, built.standinScript, { ioCounters: true });
  const client = createClient(api.url, 4);
  try {
    const db = await api.mf.getD1Database("DB");
    await applyMigrations(db, root);
    await (await standinControl(api.mf)).reset();
    const [readWs, buyWs] = await seedWorkspaces(db, 2);
    const seeded = await seedActiveNumbers(db, readWs.id, 20);
    const io = {};
    async function measure(name, status, request) {
      let res;
      for (const attempt of [0, 1]) {
        workerLogTail.length = 0;
        res = await client.request(request(attempt));
        if (res.status !== status) break;
      }
      if (res.status === status) {
        io[name] = ioCounts(res);
      } else {
        io[name] = {
          d1_round_trips: null,
          do_calls: null,
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
    const purchase = await measure("purchase", 201, (attempt) =>
      purchaseRequest(buyWs, found[attempt] ?? "+12015550100", `io-${attempt}`),
    );
    const bought = purchase.status === 201 ? await boughtIds(client, buyWs) : [];
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
    return io;
  } finally {
    client.close();
    await stop(api.mf);
  }
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
async function boughtIds(client, ws) {
  const res = await expect(client.request({ path: BASE, headers: ws.auth }), 200, "list");
  return JSON.parse(res.text).numbers.map((n) => n.id);
}

// ---- The phases ---------------------------------------------------------------------------

async function main() {
  progress(`building into ${tmp}`);
  const built = await buildAll(root, tmp);
  const bundle = bundleSize(built.prodScript);
  const baselineBundle = bundleSize(built.helloScript);

  progress(`module evaluation, ${options.evalRuns} fresh processes per bundle`);
  const evals = await measureEval(
    tmp,
    { ours: built.prodScript, baseline: built.helloScript },
    options.evalRuns,
  );

  // (a) The baseline hello Worker alone.
  progress("baseline: hello Worker, GET /");
  const hello = await startHello(root, built.helloScript);
  const baseline = await steadyLoad({
    url: `${hello.url}/`,
    connections: options.connections,
    seconds: options.seconds,
  });
  await stop(hello.mf);

  progress("I/O per request: X-IO-Counts of one request per route (IO_COUNTERS=1)");
  const io = await measureIo(built);

  // What the list route's D1 round trips alone cost here, without any of our code.
  const floorQueries = io.list.d1_round_trips ?? 2;
  progress(`D1 floor: a bare Worker making ${floorQueries} D1 round trips per request`);
  const floor = await startD1Floor(root);
  const d1Floor = await steadyLoad({
    url: `${floor.url}/?n=${floorQueries}`,
    connections: options.connections,
    seconds: options.seconds,
  });
  await stop(floor.mf);

  // (b) The API with D1, its Durable Object and the stand-in, without the I/O counters.
  progress("API: starting, migrating and seeding D1");
  const api = await startApi(root, built.devScript, built.standinScript, { ioCounters: false });
  const db = await api.mf.getD1Database("DB");
  await applyMigrations(db, root);
  const standin = await standinControl(api.mf);
  await standin.reset();
  const npas = areaCodes();
  let nextNpa = 0;
  const takeNpa = () => {
    if (nextNpa >= npas.length) throw new Error("out of area codes");
    return npas[nextNpa++];
  };

  const [listWs, searchWs] = await seedWorkspaces(db, 2);
  await seedActiveNumbers(db, listWs.id, 20);
  const purchaseWs = await seedWorkspaces(db, 2 * options.purchases);
  const scaleWs = await seedWorkspaces(db, 1 + SCALE_WORKSPACES);
  const client = createClient(api.url, 128);
  const apiUrl = (p) => `${api.url}${p}`;

  // The first request starts the isolate; everything measured runs on a warm Worker.
  await expect(client.request({ path: BASE, headers: listWs.auth }), 200, "first list");

  // Purchases need numbers that a search returned to the same workspace: workspace i of
  // each group of 50 searches the group's own area code and buys the i-th number returned.
  progress(`purchase: preparing ${2 * options.purchases} workspaces (one search each)`);
  const groupNpas = [];
  const purchaseRequests = await mapLimit(purchaseWs, 8, async (ws, i) => {
    const group = Math.floor(i / SEARCH_PAGE);
    groupNpas[group] ??= takeNpa();
    const numbers = await searchAsWorkspace(client, ws, groupNpas[group]);
    return purchaseRequest(ws, numbers[i % SEARCH_PAGE], 1);
  });

  progress(`scale: preparing ${1 + SCALE_WORKSPACES} workspaces (two searches each)`);
  await mapLimit(scaleWs, 8, async (ws) => {
    ws.numbers = [
      ...(await searchAsWorkspace(client, ws, takeNpa())),
      ...(await searchAsWorkspace(client, ws, takeNpa())),
    ];
  });
  await standin.clearRequests();

  await standin.setLatency(options.twilioLatencyMs);
  progress("list: GET /v1/agents/phone-numbers (20 numbers)");
  const list = await steadyLoad({
    url: apiUrl(BASE),
    headers: listWs.auth,
    connections: options.connections,
    seconds: options.seconds,
  });
  progress("search: GET /v1/agents/phone-numbers/available?area_code=415");
  const search = await steadyLoad({
    url: apiUrl(`${BASE}/available?area_code=415`),
    headers: searchWs.auth,
    connections: options.connections,
    seconds: options.seconds,
  });
  await standin.clearRequests();

  const purchaseRuns = [
    ["purchase", options.purchaseConcurrency, purchaseRequests.slice(0, options.purchases)],
    ["purchase under load", options.connections, purchaseRequests.slice(options.purchases)],
  ];
  const purchases = [];
  for (const [name, concurrency, requests] of purchaseRuns) {
    progress(`${name}: ${requests.length} purchases, ${concurrency} in flight, fresh workspaces`);
    purchases.push(
      checkRun(
        name,
        await withWorkerdCpu(() =>
          runOnce(client, requests, concurrency, 201, PURCHASE_RUN_MAX_SECONDS),
        ),
      ),
    );
    await standin.clearRequests();
  }

  progress(
    `scale: purchases/s with ${SCALE_LATENCY_MS} ms Twilio latency, 1 then ${SCALE_WORKSPACES} workspaces, ${options.scaleSeconds} s each`,
  );
  await standin.setLatency(SCALE_LATENCY_MS);
  const scaleOne = checkRun(
    "scale 1",
    await withWorkerdCpu(() => scaleRun(client, scaleWs.slice(0, 1), options.scaleSeconds)),
  );
  await standin.clearRequests();
  const scaleFifty = checkRun(
    "scale 50",
    await withWorkerdCpu(() => scaleRun(client, scaleWs.slice(1), options.scaleSeconds)),
  );
  client.close();
  await stop(api.mf);

  // (c) The stand-in alone: its own latency for the same purchase call, same concurrency.
  progress("stand-in alone: the same purchase runs against the stand-in itself");
  const alone = await startStandin(root, built.standinScript);
  const aloneControl = await standinControl(alone.mf);
  await aloneControl.reset();
  const standinClient = createClient(alone.url, 128);
  const sid = "AC00000000000000000000000000000000";
  const basic = `Basic ${Buffer.from(`${sid}:standin-auth-token`).toString("base64")}`;
  const standinNumbers = [];
  for (let i = 0; standinNumbers.length < 2 * options.purchases; i++) {
    const res = await expect(
      standinClient.request({
        path: `/2010-04-01/Accounts/${sid}/AvailablePhoneNumbers/US/Local.json?AreaCode=${npas[i]}&PageSize=100`,
        headers: { authorization: basic },
      }),
      200,
      "stand-in search",
    );
    for (const n of JSON.parse(res.text).available_phone_numbers) {
      standinNumbers.push(n.phone_number);
    }
  }
  await aloneControl.clearRequests();
  await aloneControl.setLatency(options.twilioLatencyMs);
  const standinRequests = standinNumbers.slice(0, 2 * options.purchases).map((e164) => ({
    method: "POST",
    path: `/2010-04-01/Accounts/${sid}/IncomingPhoneNumbers.json`,
    headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      PhoneNumber: e164,
      TrunkSid: "TK00000000000000000000000000000000",
    }).toString(),
  }));
  const standinRuns = [];
  for (const [i, [name, concurrency]] of purchaseRuns.entries()) {
    const requests = standinRequests.slice(i * options.purchases, (i + 1) * options.purchases);
    standinRuns.push(
      checkRun(
        `stand-in ${name}`,
        await withWorkerdCpu(() =>
          runOnce(standinClient, requests, concurrency, 201, PURCHASE_RUN_MAX_SECONDS),
        ),
      ),
    );
    await aloneControl.clearRequests();
  }
  standinClient.close();
  await stop(alone.mf);

  return {
    bundle,
    baselineBundle,
    evals,
    baseline,
    d1Floor: { ...d1Floor, queries: floorQueries },
    list,
    search,
    purchase: purchases[0],
    purchaseLoaded: purchases[1],
    io,
    standinPurchase: standinRuns[0],
    standinPurchaseLoaded: standinRuns[1],
    scaleOne,
    scaleFifty,
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
  Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : null;

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
    ...cpu(load),
  });
  const overhead = m.purchase.p50_ms - m.standinPurchase.p50_ms;
  const overheadLoaded = m.purchaseLoaded.p50_ms - m.standinPurchaseLoaded.p50_ms;
  const evalRatio = m.evals.ours.median_ms / m.evals.baseline.median_ms;
  const listRatio = m.list.rps / m.baseline.rps;
  const scaleRatio = m.scaleFifty.pps / m.scaleOne.pps;
  const reads = ["list", "get", "search"];
  const budget = (limit, value, pass) => ({
    limit,
    value: value === null ? null : round(value, 3),
    pass: value !== null && pass,
  });
  const readD1 = reads.map((r) => m.io[r].d1_round_trips);
  const budgets = {
    bundle_minified_bytes: budget(
      "<= 65536 (64 KiB)",
      m.bundle.minified_bytes,
      m.bundle.minified_bytes <= 65536,
    ),
    eval_ratio: budget("<= 2x baseline", evalRatio, evalRatio <= 2),
    purchase_do_calls: budget("<= 1", m.io.purchase.do_calls, m.io.purchase.do_calls <= 1),
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
    list_rps_ratio: budget(">= 0.5 of baseline", listRatio, listRatio >= 0.5),
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
      steady_load_seconds: options.seconds,
      connections: options.connections,
      purchases: options.purchases,
      purchase_concurrency: options.purchaseConcurrency,
      purchase_under_load_concurrency: options.connections,
      scale_seconds: options.scaleSeconds,
      scale_twilio_latency_ms: SCALE_LATENCY_MS,
      eval_runs: options.evalRuns,
    },
    bundle: m.bundle,
    baseline_bundle: m.baselineBundle,
    eval_ms: {
      ours: round(m.evals.ours.median_ms, 3),
      baseline: round(m.evals.baseline.median_ms, 3),
    },
    baseline: loadOf(m.baseline),
    d1_floor: { d1_round_trips: m.d1Floor.queries, ...loadOf(m.d1Floor) },
    routes: {
      list: { ...loadOf(m.list), ...ioOf("list") },
      search: { ...loadOf(m.search), ...ioOf("search") },
      purchase: {
        ...loadOf(m.purchase),
        ...ioOf("purchase"),
        count: m.purchase.ok,
        concurrency: options.purchaseConcurrency,
        under_load: {
          ...loadOf(m.purchaseLoaded),
          count: m.purchaseLoaded.ok,
          concurrency: options.connections,
          overhead_p50_ms: round(overheadLoaded),
        },
      },
      get: ioOf("get"),
      patch: ioOf("patch"),
      delete: ioOf("delete"),
    },
    purchase_overhead_p50_ms: round(overhead),
    standin: {
      purchase_p50_ms: round(m.standinPurchase.p50_ms),
      purchase_p99_ms: round(m.standinPurchase.p99_ms),
      purchase_rps: round(m.standinPurchase.rps, 1),
      ...cpu(m.standinPurchase),
      under_load: loadOf(m.standinPurchaseLoaded),
    },
    scale: {
      one_workspace_pps: round(m.scaleOne.pps, 1),
      fifty_workspaces_pps: round(m.scaleFifty.pps, 1),
      ratio: round(scaleRatio),
      one_workspace: {
        purchases: m.scaleOne.ok,
        p50_ms: round(m.scaleOne.p50_ms),
        p99_ms: round(m.scaleOne.p99_ms),
        ...cpu(m.scaleOne),
      },
      fifty_workspaces: {
        purchases: m.scaleFifty.ok,
        p50_ms: round(m.scaleFifty.p50_ms),
        p99_ms: round(m.scaleFifty.p99_ms),
        ...cpu(m.scaleFifty),
      },
    },
    ratios: {
      list_rps_over_baseline: round(listRatio, 3),
      list_rps_over_d1_floor: round(m.list.rps / m.d1Floor.rps, 3),
      eval_ours_over_baseline: round(evalRatio, 3),
    },
    budgets,
    all_budgets_pass: Object.values(budgets).every((b) => b.pass),
  };
}

function table(r) {
  const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
  const ms = (v) => (v === null ? "-" : `${Number(v.toFixed(2))} ms`);
  const io = (x) =>
    x.d1_round_trips === null
      ? `I/O not measured: ${x.error.slice(0, 8)} (${(x.worker_logged.at(-1) ?? x.error.slice(9)).slice(0, 90)})`
      : `D1 ${x.d1_round_trips}, DO ${x.do_calls}`;
  const atMost = (x, d1) => (x.d1_round_trips !== null && x.d1_round_trips <= d1 ? "pass" : "FAIL");
  const cpu = (x) =>
    x.workerd_cpu_ms_per_request === null ? "" : `, CPU ${ms(x.workerd_cpu_ms_per_request)}/req`;
  const load = (x) => `${x.rps.toFixed(0)}/s, p50 ${ms(x.p50_ms)}, p99 ${ms(x.p99_ms)}${cpu(x)}`;
  const verdict = (...names) => (names.every((n) => r.budgets[n].pass) ? "pass" : "FAIL");
  const both = (...verdicts) => (verdicts.every((v) => v === "pass") ? "pass" : "FAIL");
  const p = r.routes.purchase;
  const size = (b) =>
    `${kib(b.minified_bytes)} (${b.minified_bytes} B), gzip ${kib(b.gzip_bytes)} (${b.gzip_bytes} B)`;
  const rows = [
    ["measurement", "value", "budget", "result"],
    ["bundle, production, minified", size(r.bundle), "<= 64 KiB", verdict("bundle_minified_bytes")],
    ["baseline bundle (hello)", size(r.baseline_bundle), "", ""],
    [
      `module evaluation, median of ${r.options.eval_runs}`,
      `ours ${ms(r.eval_ms.ours)}, baseline ${ms(r.eval_ms.baseline)}: ${r.ratios.eval_ours_over_baseline.toFixed(2)}x`,
      "<= 2x baseline",
      verdict("eval_ratio"),
    ],
    ["baseline: hello GET /", load(r.baseline), "", ""],
    [
      `D1 floor: bare Worker, ${r.d1_floor.d1_round_trips} D1 round trips`,
      load(r.d1_floor),
      "",
      "",
    ],
    [
      "list (20 numbers)",
      `${load(r.routes.list)}; ${(r.ratios.list_rps_over_baseline * 100).toFixed(0)}% of baseline, ${(r.ratios.list_rps_over_d1_floor * 100).toFixed(0)}% of D1 floor; ${io(r.routes.list)}`,
      ">= 50% of baseline; D1 <= 2",
      both(verdict("list_rps_ratio"), atMost(r.routes.list, 2)),
    ],
    ["get", io(r.routes.get), "D1 <= 2", atMost(r.routes.get, 2)],
    [
      "search (area_code=415)",
      `${load(r.routes.search)}; ${io(r.routes.search)}`,
      "D1 <= 2",
      atMost(r.routes.search, 2),
    ],
    [
      `purchase (${p.count}, ${p.concurrency} in flight)`,
      `${load(p)}; ${io(p)}`,
      "D1 <= 3, DO <= 1",
      verdict("purchase_d1_round_trips", "purchase_do_calls"),
    ],
    [
      `stand-in alone, same purchases`,
      `${r.standin.purchase_rps.toFixed(0)}/s, p50 ${ms(r.standin.purchase_p50_ms)}, p99 ${ms(r.standin.purchase_p99_ms)}${cpu(r.standin)}`,
      "",
      "",
    ],
    [
      "purchase overhead p50",
      `${ms(r.purchase_overhead_p50_ms)} (purchase p50 minus the stand-in's)`,
      "<= 5 ms",
      verdict("purchase_overhead_p50_ms"),
    ],
    [
      `purchase under load (${p.under_load.count}, ${p.under_load.concurrency} in flight)`,
      `${load(p.under_load)}; overhead p50 ${ms(p.under_load.overhead_p50_ms)} (stand-in alone: ${load(r.standin.under_load)})`,
      "",
      "",
    ],
    ["patch", io(r.routes.patch), "", ""],
    ["delete", io(r.routes.delete), "", ""],
    [
      `scale, 1 workspace (Twilio +${r.options.scale_twilio_latency_ms} ms)`,
      `${r.scale.one_workspace_pps.toFixed(1)} purchases/s (${r.scale.one_workspace.purchases} in ${r.options.scale_seconds} s), p50 ${ms(r.scale.one_workspace.p50_ms)}`,
      "",
      "",
    ],
    [
      `scale, 50 workspaces (Twilio +${r.options.scale_twilio_latency_ms} ms)`,
      `${r.scale.fifty_workspaces_pps.toFixed(1)} purchases/s (${r.scale.fifty_workspaces.purchases}), p50 ${ms(r.scale.fifty_workspaces.p50_ms)}${cpu(r.scale.fifty_workspaces)}, workerd busy ${((r.scale.fifty_workspaces.workerd_cpu_utilization ?? Number.NaN) * 100).toFixed(0)}%: ${r.scale.ratio.toFixed(1)}x 1 workspace`,
      ">= 10x",
      verdict("scale_ratio"),
    ],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row) => `| ${row.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`;
  const m = r.machine;
  const busy =
    m.loadavg_1m_at_start > 0.5
      ? `\nNote: load average ${m.loadavg_1m_at_start} at start: other processes were using the CPU, so throughput may read low.`
      : "";
  return [
    `Phone-numbers benchmark, ${r.generated_at}`,
    `${m.cpu_model}, ${m.cores} cores, ${m.memory_gib} GiB; Node ${m.node_version}; ${m.workerd_version}; Twilio stand-in latency ${r.options.twilio_latency_ms} ms${busy}`,
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

let exitCode = 0;
try {
  const measured = await main();
  const results = buildResults(measured);
  writeFileSync(flags.out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(table(results));
  progress(`done; results in ${path.relative(process.cwd(), flags.out) || flags.out}`);
  if (flags.strict && !results.all_budgets_pass) exitCode = 1;
} catch (error) {
  console.error(error);
  if (workerLogTail.length > 0) {
    console.error(`Last warnings and errors the Workers logged:\n${workerLogTail.join("\n")}`);
  }
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
