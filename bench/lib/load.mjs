// Steady load with autocannon: `connections` keep-alive connections, each sending its next
// request as soon as the last one is answered, for `seconds`, after a discarded warm-up.
import autocannon from "autocannon";
import { withWorkerdCpu } from "./cpu.mjs";

function run(options) {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

export async function steadyLoad({ url, headers = {}, connections, seconds, warmupSeconds = 1 }) {
  if (!url.startsWith("http://127.0.0.1:")) throw new Error(`refusing non-loopback target ${url}`);
  const options = { url, headers, connections, pipelining: 1, timeout: 30 };
  if (warmupSeconds > 0) await run({ ...options, duration: warmupSeconds });
  return withWorkerdCpu(async () => {
    const result = await run({ ...options, duration: seconds });
    const ok = result["2xx"];
    if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
      throw new Error(
        `${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
      );
    }
    return {
      requests: ok,
      seconds: result.duration,
      rps: ok / result.duration,
      // autocannon's histogram has 1 ms resolution.
      p50_ms: result.latency.p50,
      p99_ms: result.latency.p99,
    };
  });
}
