// Builds everything the benchmark runs or measures, into a temp folder:
// - the API's production bundle (minified, `--env production`): the size numbers;
// - the API's bundle from the top-level (dev) config: what runs in Miniflare;
// - the baseline hello Worker (bench/hello), built the same way as production;
// - the stand-ins, bundled by standins/build.mjs (as for the tests).
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { buildStandins } from "../../standins/build.mjs";

function runWrangler(root, args, cwd) {
  const bin = path.join(root, "node_modules", ".bin", "wrangler");
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "true" },
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`wrangler ${args.join(" ")} failed (${code}):\n${output}`));
    });
  });
}

/** Minified bytes and gzip bytes of a bundle's main module (zlib's default level, as wrangler). */
export function bundleSize(file) {
  const bytes = readFileSync(file);
  return { minified_bytes: bytes.length, gzip_bytes: gzipSync(bytes).length };
}

export async function buildAll(root, tmp) {
  const out = {
    prod: path.join(tmp, "api-production"),
    dev: path.join(tmp, "api-dev"),
    hello: path.join(tmp, "hello"),
  };
  const helloDir = path.join(root, "bench", "hello");
  await Promise.all([
    runWrangler(
      root,
      ["deploy", "--dry-run", "--outdir", out.prod, "--minify", "--env", "production"],
      root,
    ),
    // The same code as production; only the bindings differ (TWILIO_UPSTREAM is kept).
    runWrangler(root, ["deploy", "--dry-run", "--outdir", out.dev, "--minify"], root),
    runWrangler(root, ["deploy", "--dry-run", "--outdir", out.hello, "--minify"], helloDir),
  ]);
  const standins = await buildStandins(path.join(tmp, "standins"));
  // wrangler leaves a scratch folder beside the config it was given.
  rmSync(path.join(helloDir, ".wrangler"), { recursive: true, force: true });
  return {
    prodScript: path.join(out.prod, "index.js"),
    devScript: path.join(out.dev, "index.js"),
    helloScript: path.join(out.hello, "index.js"),
    standinScript: standins["twilio-standin"],
    livekitStandinScript: standins["livekit-standin"],
  };
}
