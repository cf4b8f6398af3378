import { build } from "esbuild";

// Runs in Node before the pool starts: auxiliary Workers are given to Miniflare as built
// JavaScript, so the Twilio stand-in is bundled here from its TypeScript source.
export default async function buildTwilioStandin() {
  await build({
    entryPoints: ["test/twilio-standin/index.ts"],
    outfile: ".standin-build/twilio-standin.js",
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    external: ["cloudflare:*"],
    logLevel: "warning",
  });
}
