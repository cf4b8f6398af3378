// Steady load with autocannon: `connections` keep-alive connections, each sending its next
// request as soon as the last one is answered, for a fixed time. Every response time is
// collected (sub-millisecond), so slices of a run taken at different times combine exactly.
import autocannon from "autocannon";
import { withCpu } from "./cpu.mjs";

function run(options, latencies) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) =>
      error ? reject(error) : resolve(result),
    );
    if (latencies) {
      instance.on("response", (_client, status, _bytes, responseTime) => {
        if (status >= 200 && status < 300) latencies.push(responseTime);
      });
    }
  });
}

function check(target, result) {
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `${target.url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
}

/**
 * Loads each target (`{ url, headers, pids }`) in turn, `slices` times over, for `seconds` in
 * all per target, after a discarded warm-up of each: alternating the targets means a change in
 * the machine's load during the run weighs on each of them alike.
 */
export async function interleavedLoad(targets, { connections, seconds, slices = 1, warmup = 1 }) {
  for (const target of targets) {
    if (!target.url.startsWith("http://127.0.0.1:")) {
      throw new Error(`refusing non-loopback target ${target.url}`);
    }
  }
  const options = (target, duration) => ({
    url: target.url,
    headers: target.headers ?? {},
    connections,
    pipelining: 1,
    timeout: 30,
    duration,
  });
  for (const target of targets) check(target, await run(options(target, warmup)));
  const parts = targets.map(() => []);
  for (let slice = 0; slice < slices; slice++) {
    for (const [i, target] of targets.entries()) {
      const latencies = [];
      const part = await withCpu(target.pids, async () => {
        const result = await run(options(target, seconds / slices), latencies);
        check(target, result);
        return { latencies, seconds: result.duration };
      });
      parts[i].push(part);
    }
  }
  return parts;
}
