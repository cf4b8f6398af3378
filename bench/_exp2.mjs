import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { steadyLoad } from "./lib/load.mjs";

const script = `
export default { async fetch(req, env) {
  const r = await env.DB.prepare("SELECT 1 AS x").first(); return Response.json(r);
} }`;
const mf = new Miniflare(
  convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    telemetry: { enabled: false },
    workers: [
      {
        name: "x",
        modules: true,
        script,
        compatibilityDate: "2026-11-01",
        d1Databases: { DB: "abc" },
      },
    ],
  }),
);
const url = (await mf.ready).href.replace(/\/$/, "");
console.log("pid", process.pid);
const r = await steadyLoad({ url: url + "/", connections: 10, seconds: 8, warmupSeconds: 0 });
console.log(Math.round(r.rps), r.p50_ms, r.p99_ms);
await mf.dispose();
