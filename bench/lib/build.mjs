// Builds everything the benchmark runs or measures, into a temp folder:
// - the API's production bundle (minified, `--env production`): the size numbers;
// - the API's instrumented bundle (bench/instrumented/index.ts as the entry, with the
//   top-level (dev) config's bindings): what runs in Miniflare;
// - the baseline hello Worker (bench/hello), built the same way as production;
// - the reference Worker of the D1 floor and the local costs (bench/d1-floor), and that of the
//   purchase I/O floor (bench/purchase-floor), with esbuild;
// - the stand-ins, bundled by standins/build.mjs (as for the tests).
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
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

/** The benchmark's build of the Worker (relative to the repository's root). */
export const INSTRUMENTED_ENTRY = "bench/instrumented/index.ts";

/** Minified bytes and gzip bytes of a bundle's main module (zlib's default level, as wrangler). */
export function bundleSize(file) {
  const bytes = readFileSync(file);
  return { minified_bytes: bytes.length, gzip_bytes: gzipSync(bytes).length };
}

/** A reference Worker of the benchmark (bench/<name>/index.ts), bundled with esbuild. */
async function buildReferenceWorker(root, tmp, name) {
  const script = path.join(tmp, name, "index.js");
  await build({
    entryPoints: [path.join(root, "bench", name, "index.ts")],
    outfile: script,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    external: ["cloudflare:workers"],
    logLevel: "warning",
  });
  return script;
}

export async function buildAll(root, tmp) {
  const out = {
    prod: path.join(tmp, "api-production"),
    instrumented: path.join(tmp, "api-instrumented"),
    hello: path.join(tmp, "hello"),
  };
  const helloDir = path.join(root, "bench", "hello");
  await Promise.all([
    runWrangler(
      root,
      ["deploy", "--dry-run", "--outdir", out.prod, "--minify", "--env", "production"],
      root,
    ),
    // The same config's top level with the benchmark's entry in place of `main`: the real app
    // and Durable Object wrapped by the I/O counters, which are on only with IO_COUNTERS="1".
    runWrangler(
      root,
      ["deploy", INSTRUMENTED_ENTRY, "--dry-run", "--outdir", out.instrumented, "--minify"],
      root,
    ),
    runWrangler(root, ["deploy", "--dry-run", "--outdir", out.hello, "--minify"], helloDir),
  ]);
  // The I/O counters must be in the build that runs and never in the one that is deployed.
  const marker = "X-IO-Counts";
  if (readFileSync(path.join(out.prod, "index.js"), "utf8").includes(marker)) {
    throw new Error(`the production bundle contains the benchmark's I/O counters (${marker})`);
  }
  if (!readFileSync(path.join(out.instrumented, "index.js"), "utf8").includes(marker)) {
    throw new Error(`the instrumented bundle lacks the I/O counters (${marker}): was it built?`);
  }
  const standins = await buildStandins(path.join(tmp, "standins"));
  const [d1FloorScript, purchaseFloorScript] = await Promise.all(
    ["d1-floor", "purchase-floor"].map((name) => buildReferenceWorker(root, tmp, name)),
  );
  // wrangler leaves a scratch folder beside the config it was given.
  rmSync(path.join(helloDir, ".wrangler"), { recursive: true, force: true });
  return {
    prodScript: path.join(out.prod, "index.js"),
    instrumentedScript: path.join(out.instrumented, "index.js"),
    helloScript: path.join(out.hello, "index.js"),
    d1FloorScript,
    purchaseFloorScript,
    standinScript: standins["twilio-standin"],
    standinScripts: standins,
  };
}
