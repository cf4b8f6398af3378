// Module evaluation time: how long a fresh isolate spends parsing, compiling and running the
// top level of a Worker bundle (part of every cold start). Each bundle is the minified
// production bundle wrangler built, re-bundled with esbuild so that `cloudflare:workers`
// resolves to a small shim; each evaluation is `await import()` of its own copy of the file
// in a fresh Node process (no module cache, no compile cache), after Node's ESM loader has been
// warmed on an empty module. Ours and the baseline's alternate, and the median is reported.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { median } from "./http.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

async function evalBundle(script, outfile) {
  await build({
    entryPoints: [script],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    minify: true,
    logLevel: "warning",
    plugins: [
      {
        name: "cloudflare-workers-shim",
        setup(b) {
          b.onResolve({ filter: /^cloudflare:workers$/ }, () => ({
            path: path.join(here, "cf-shim.mjs"),
          }));
        },
      },
    ],
  });
}

export async function measureEval(tmp, bundles, runs = 20) {
  const dir = path.join(tmp, "eval");
  mkdirSync(dir, { recursive: true });
  const warmup = path.join(dir, "warmup.mjs");
  writeFileSync(warmup, "export {};\n");
  const copies = {};
  for (const [name, script] of Object.entries(bundles)) {
    const single = path.join(dir, `${name}.mjs`);
    await evalBundle(script, single);
    copies[name] = Array.from({ length: runs }, (_, i) => {
      const copy = path.join(dir, `${name}-${i}.mjs`);
      copyFileSync(single, copy);
      return copy;
    });
  }
  const env = { ...process.env };
  delete env.NODE_COMPILE_CACHE;
  delete env.NODE_OPTIONS;
  const child = path.join(here, "eval-child.mjs");
  const samples = Object.fromEntries(Object.keys(bundles).map((name) => [name, []]));
  const names = Object.keys(bundles);
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so drift in the machine's load hits both alike.
    const order = i % 2 ? [...names].reverse() : names;
    for (const name of order) {
      const out = execFileSync(process.execPath, [child, copies[name][i], warmup], { env });
      samples[name].push(JSON.parse(out.toString()).ms);
    }
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, values]) => [name, { median_ms: median(values), values }]),
  );
}
