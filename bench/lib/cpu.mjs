// CPU time of the workerd process that runs the Workers under test (Linux /proc), so each
// load phase can report CPU milliseconds per request and how busy workerd was: Miniflare runs
// every Worker, Durable Object and the local D1 of an instance on one workerd thread, so a
// phase whose workerd is near 100% of a core is bound by that CPU, not by waiting.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
} catch {
  // Linux's usual value.
}

function stat(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  // Fields from the 3rd (state) on; utime and stime are the 14th and 15th.
  const fields = text.slice(close + 2).split(" ");
  return {
    comm,
    ppid: Number(fields[1]),
    cpuMs: ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1000,
  };
}

/** The workerd processes started by this process (children or grandchildren). */
export function workerdPids() {
  let entries;
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const parents = new Map();
  const names = new Map();
  for (const pid of entries) {
    try {
      const s = stat(pid);
      parents.set(Number(pid), s.ppid);
      names.set(Number(pid), s.comm);
    } catch {
      // Gone already.
    }
  }
  const mine = (pid) => {
    for (let p = parents.get(pid), depth = 0; p && depth < 4; p = parents.get(p), depth++) {
      if (p === process.pid) return true;
    }
    return false;
  };
  return [...names].filter(([pid, comm]) => comm === "workerd" && mine(pid)).map(([pid]) => pid);
}

/** CPU milliseconds used so far by the given processes (null when /proc is unavailable). */
function cpuMs(pids) {
  if (!pids || pids.length === 0) return null;
  try {
    return pids.reduce((sum, pid) => sum + stat(pid).cpuMs, 0);
  } catch {
    return null;
  }
}

/** Runs `fn` and adds `cpuMs`, the CPU the processes `pids` used meanwhile, to its result. */
export async function withCpu(pids, fn) {
  const before = cpuMs(pids);
  const result = await fn();
  const after = cpuMs(pids);
  return { ...result, cpuMs: before === null || after === null ? null : after - before };
}
