// A small keep-alive HTTP client for 127.0.0.1, and a driver that runs a fixed list of
// requests with bounded concurrency, timing each one with performance.now() (sub-millisecond).
import http from "node:http";

export function createClient(baseUrl, maxSockets = 64) {
  const base = new URL(baseUrl);
  if (base.hostname !== "127.0.0.1") throw new Error(`refusing non-loopback target ${baseUrl}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  return {
    baseUrl: base.href,
    /** @returns {Promise<{status:number, headers:object, text:string, ms:number}>} */
    request({ method = "GET", path, headers = {}, body, timeoutMs = 30_000 }) {
      return new Promise((resolve, reject) => {
        const allHeaders = { ...headers };
        let data;
        if (body !== undefined) {
          data = typeof body === "string" ? body : JSON.stringify(body);
          allHeaders["content-type"] ??= "application/json";
          allHeaders["content-length"] = Buffer.byteLength(data);
        }
        const started = performance.now();
        const req = http.request(
          { host: base.hostname, port: base.port, method, path, headers: allHeaders, agent },
          (res) => {
            const chunks = [];
            res.on("data", (chunk) => chunks.push(chunk));
            res.on("error", reject);
            res.on("end", () =>
              resolve({
                status: res.statusCode,
                headers: res.headers,
                text: Buffer.concat(chunks).toString("utf8"),
                ms: performance.now() - started,
              }),
            );
          },
        );
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} timed out`)));
        req.on("error", reject);
        req.end(data);
      });
    },
    close() {
      agent.destroy();
    },
  };
}

/** Nearest-rank percentile of an array of numbers (q in 0..1). */
export function percentile(values, q) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Sends each request of `requests` once, `concurrency` at a time, and returns the latencies of
 * the ones answered with `expectStatus`. No request starts after `maxSeconds`. A request may be
 * a function of the client answering like `client.request` (e.g. a sequence of calls, its `ms`
 * their total), with `steps`, the latency of each call by name, gathered in `stepLatencies`.
 */
export async function runOnce(client, requests, concurrency, expectStatus, maxSeconds = 20) {
  const latencies = [];
  const failures = [];
  const stepLatencies = {};
  let next = 0;
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= requests.length || performance.now() >= deadline) return;
      try {
        const request = requests[i];
        const res =
          typeof request === "function" ? await request(client) : await client.request(request);
        if (res.status === expectStatus) {
          latencies.push(res.ms);
          for (const [step, ms] of Object.entries(res.steps ?? {})) {
            stepLatencies[step] = [...(stepLatencies[step] ?? []), ms];
          }
        } else failures.push(`${res.status} ${res.text.slice(0, 200)}`);
      } catch (error) {
        failures.push(String(error));
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, worker));
  return { latencies, failures, stepLatencies, seconds: (performance.now() - started) / 1000 };
}

/**
 * One result from parts of a run (slices taken at different times): throughput over their
 * total time, exact percentiles over all their latencies, and workerd's CPU per request and
 * utilization when the parts carry `cpuMs`.
 */
export function combine(parts) {
  const latencies = parts.flatMap((p) => p.latencies);
  const failures = parts.flatMap((p) => p.failures ?? []);
  const steps = {};
  for (const part of parts) {
    for (const [step, values] of Object.entries(part.stepLatencies ?? {})) {
      steps[step] = [...(steps[step] ?? []), ...values];
    }
  }
  const seconds = parts.reduce((sum, p) => sum + p.seconds, 0);
  const cpu = parts.some((p) => p.cpuMs == null)
    ? null
    : parts.reduce((sum, p) => sum + p.cpuMs, 0);
  return {
    ok: latencies.length,
    failed: failures.length,
    failures: failures.slice(0, 5),
    seconds,
    rps: latencies.length / seconds,
    p50_ms: percentile(latencies, 0.5),
    p99_ms: percentile(latencies, 0.99),
    workerd_cpu_ms_per_request:
      cpu === null || latencies.length === 0 ? null : cpu / latencies.length,
    workerd_cpu_utilization: cpu === null ? null : cpu / 1000 / seconds,
    /** The p50 of each named step of sequences (see runOnce). */
    step_p50_ms: Object.fromEntries(
      Object.entries(steps).map(([step, values]) => [step, percentile(values, 0.5)]),
    ),
  };
}
