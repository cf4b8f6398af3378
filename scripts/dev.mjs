// `npm run dev`: applies the local D1 migrations, starts each stand-in on its own port
// (Twilio on 8788, LiveKit on 8789) and then the API on 8787. The API reaches the stand-ins
// through its service bindings, which wrangler's local dev registry connects across processes.
// Ctrl-C stops them all.
import { spawn, spawnSync } from "node:child_process";
import { STANDINS } from "../standins/build.mjs";

const API_PORT = 8787;

const migrate = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local"], {
  stdio: "inherit",
  env: { ...process.env, CI: "true" },
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const children = [];

function start(label, args) {
  const child = spawn("wrangler", ["dev", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream.on("data", (chunk) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) process.stdout.write(`[${label}] ${line}\n`);
    });
  }
  child.on("exit", (code) => {
    console.log(`[${label}] exited (${code ?? "signal"}); stopping the others`);
    stopAll(code ?? 1);
  });
  children.push(child);
  return child;
}

let stopping = false;
function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill("SIGINT");
  setTimeout(() => process.exit(code), 2000).unref();
}
process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));

/** Resolves once the Worker on `port` answers anything at all. */
async function answering(port, label) {
  for (let attempt = 0; attempt < 120; attempt++) {
    try {
      await fetch(`http://localhost:${port}/`);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  throw new Error(`${label} did not start on port ${port}`);
}

// One at a time: wrangler processes started together can pick the same free port for their
// dev-registry sockets. The API starts last, so its bindings find the stand-ins in the registry.
for (const { folder, devPort } of STANDINS) {
  start(`${folder}-standin`, ["-c", `standins/${folder}/wrangler.toml`, "--port", String(devPort)]);
  await answering(devPort, folder);
}
start("api", ["--port", String(API_PORT)]);
