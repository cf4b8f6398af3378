// The Workers under test, each in its own Miniflare (workerd) on 127.0.0.1 and an ephemeral
// port, with in-memory storage (Miniflare's own temp folder, removed on dispose): never the
// dev database in .wrangler/state.
import path from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { STANDINS } from "../../standins/build.mjs";
import { workerdPids } from "./cpu.mjs";

/** Every Miniflare started and not yet disposed, so an interrupted run can stop them. */
const live = new Set();

/** The last lines the Workers logged at warn or error, for diagnosing a failed phase. */
export const workerLogTail = [];

function sharedOptions() {
  return {
    host: "127.0.0.1",
    port: 0,
    telemetry: { enabled: false },
    // One structured line per request is part of what the API costs, so the Workers keep
    // logging; the lines are dropped here instead of printed.
    handleStructuredLogs: (entry) => {
      if (entry.level === "warn" || entry.level === "error") {
        workerLogTail.push(String(entry.message).slice(0, 400));
        if (workerLogTail.length > 20) workerLogTail.shift();
      }
    },
  };
}

/** Bindings, storage and compatibility settings of a wrangler config (no --env: its top level). */
function fromWranglerConfig(configPath) {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(configPath);
  return {
    compatibilityDate: workerOptions.compatibilityDate,
    compatibilityFlags: workerOptions.compatibilityFlags ?? [],
    bindings: workerOptions.bindings ?? {},
    d1Databases: workerOptions.d1Databases ?? {},
    durableObjects: workerOptions.durableObjects ?? {},
    serviceBindings: workerOptions.serviceBindings ?? {},
  };
}

/** An ES module bundle; module names are relative to its folder, which lies outside the repo. */
function source(script) {
  return { modules: true, scriptPath: script, rootPath: path.dirname(script) };
}

/** Starts in progress, one at a time: see start(). */
let starting = Promise.resolve();

/**
 * Starts one Miniflare; `pids` are the workerd processes it added (for CPU accounting). Starts
 * are taken one after another, even when asked for at once: each one's processes are those that
 * appeared while it started, and two starts at once would each count the other's.
 */
function start(workers) {
  const turn = starting.then(() => startNow(workers));
  starting = turn.catch(() => {});
  return turn;
}

async function startNow(workers) {
  const before = new Set(workerdPids());
  const mf = new Miniflare(convertV4MiniflareOptions({ ...sharedOptions(), workers }));
  live.add(mf);
  try {
    const url = await mf.ready;
    const pids = workerdPids().filter((pid) => !before.has(pid));
    return { mf, url: url.href.replace(/\/$/, ""), pids };
  } catch (error) {
    await stop(mf);
    throw error;
  }
}

export async function stop(mf) {
  if (!mf || !live.has(mf)) return;
  live.delete(mf);
  await mf.dispose();
}

export async function stopAll() {
  await Promise.allSettled([...live].map((mf) => stop(mf)));
}

export function startHello(root, script) {
  const config = fromWranglerConfig(path.join(root, "bench", "hello", "wrangler.toml"));
  return start([{ name: "bench-hello", ...source(script), ...config }]);
}

/**
 * The reference Worker with no framework (bench/d1-floor, `script` as built by build.mjs): list's
 * own D1 round trip, or N bare ones, and Cache API lookups or writes, so that a route's
 * throughput can be set against what its I/O alone costs on this machine's local D1 and cache.
 * Its D1 is migrated and seeded by the caller, as the API's.
 */
export function startD1Floor(root, script) {
  const { compatibilityDate } = fromWranglerConfig(path.join(root, "wrangler.toml"));
  return start([
    {
      name: "bench-d1-floor",
      ...source(script),
      compatibilityDate,
      d1Databases: { DB: "bench-d1-floor" },
    },
  ]);
}

/** A stand-in (by its Worker name, e.g. "twilio-standin") with its own wrangler.toml's bindings. */
function standinWorker(root, name, script) {
  const standin = STANDINS.find((s) => s.name === name);
  if (!standin) throw new Error(`no stand-in named ${name} in standins/build.mjs`);
  const config = fromWranglerConfig(path.join(root, "standins", standin.folder, "wrangler.toml"));
  return { name, ...source(script), ...config };
}

/**
 * The API (`script`: the instrumented build, bench/instrumented) with its D1, its Durable
 * Object, the vars of wrangler.toml's top level and every stand-in its service bindings name
 * (TWILIO_UPSTREAM, and LIVEKIT_UPSTREAM once wrangler.toml binds it), from `standinScripts`
 * (built by standins/build.mjs, by Worker name); `ioCounters` adds IO_COUNTERS="1"
 * (X-IO-Counts); `vars` replace vars of wrangler.toml (e.g. TWILIO_MAX_CONCURRENCY).
 */
export function startApi(root, script, standinScripts, { ioCounters, vars = {} }) {
  const config = fromWranglerConfig(path.join(root, "wrangler.toml"));
  const bindings = { ...config.bindings, ...vars };
  if (ioCounters) bindings.IO_COUNTERS = "1";
  const services = new Set(
    Object.values(config.serviceBindings).map((target) =>
      typeof target === "string" ? target : target.name,
    ),
  );
  const standins = [...services].map((name) => {
    if (!standinScripts[name]) throw new Error(`wrangler.toml binds ${name}, which was not built`);
    return standinWorker(root, name, standinScripts[name]);
  });
  return start([{ name: "phone-numbers", ...source(script), ...config, bindings }, ...standins]);
}

/**
 * The purchase I/O floor (bench/purchase-floor, `script` as built by build.mjs): a bare Worker
 * and object making a purchase's I/O, with the API's D1 and TwilioGate bindings and vars
 * (wrangler.toml's top level), its own object in place of the workspace object, and both
 * stand-ins bound as the API binds them. The stand-ins also answer at the instance's URL
 * (Twilio's REST paths and `/twirp/*`), for the benchmark to prepare numbers and trunks.
 */
export function startPurchaseFloor(root, script, standinScripts) {
  const config = fromWranglerConfig(path.join(root, "wrangler.toml"));
  return start([
    {
      name: "bench-purchase-floor",
      ...source(script),
      ...config,
      durableObjects: {
        FLOOR_WORKSPACE: { className: "FloorWorkspace", useSQLite: true },
        TWILIO_GATE: config.durableObjects.TWILIO_GATE,
      },
    },
    {
      ...standinWorker(root, "twilio-standin", standinScripts["twilio-standin"]),
      routes: ["*/2010-04-01/*"],
    },
    {
      ...standinWorker(root, "livekit-standin", standinScripts["livekit-standin"]),
      routes: ["*/twirp/*"],
    },
  ]);
}

/**
 * The stand-ins alone, in one workerd as in the API's instance, reached over HTTP like the API,
 * to measure their own latency: Twilio's at the root, LiveKit's Twirp API (`/twirp/*`) routed to
 * the LiveKit stand-in.
 */
export function startStandin(root, standinScripts) {
  return start([
    standinWorker(root, "twilio-standin", standinScripts["twilio-standin"]),
    {
      ...standinWorker(root, "livekit-standin", standinScripts["livekit-standin"]),
      routes: ["*/twirp/*"],
    },
  ]);
}

/**
 * A stand-in's control API (/__standin/*) through Miniflare, whichever instance it runs in:
 * `name` is "twilio-standin" or "livekit-standin" (both take the same control requests used here).
 */
export async function standinControl(mf, name = "twilio-standin") {
  const worker = await mf.getWorker(name);
  async function control(method, route, body) {
    const res = await worker.fetch(`http://standin.local/__standin/${route}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`stand-in ${method} ${route}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  return {
    reset: () => control("POST", "reset"),
    clearRequests: () => control("DELETE", "requests"),
    clearFaults: () => control("DELETE", "faults"),
    /** Every reply waits `ms` (0: no wait): the stand-in's latency setting. */
    async setLatency(ms) {
      await control("DELETE", "faults");
      await control("POST", "latency", { ms });
    },
  };
}
