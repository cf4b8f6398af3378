// The one esbuild set-up of the stand-ins: the tests (test/global-setup.ts) and the benchmark
// (bench/lib/build.mjs) give them to Miniflare as built JavaScript; `npm run dev` runs them from
// their own wrangler.toml instead.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Every stand-in: its Worker name (as the API's service bindings name it), its folder, and the
 * port it answers on in `npm run dev`.
 */
export const STANDINS = [
  { name: "twilio-standin", folder: "twilio", devPort: 8788 },
  { name: "livekit-standin", folder: "livekit", devPort: 8789 },
];

/** Bundles each stand-in to `<outdir>/<name>.js`; returns their paths by Worker name. */
export async function buildStandins(outdir) {
  const scripts = {};
  await Promise.all(
    STANDINS.map(async ({ name, folder }) => {
      const outfile = path.join(outdir, `${name}.js`);
      await build({
        entryPoints: [path.join(here, folder, "index.ts")],
        outfile,
        bundle: true,
        format: "esm",
        platform: "neutral",
        target: "es2022",
        external: ["cloudflare:*"],
        logLevel: "warning",
      });
      scripts[name] = outfile;
    }),
  );
  return scripts;
}
