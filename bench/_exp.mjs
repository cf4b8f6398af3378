import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { steadyLoad } from "./lib/load.mjs";

const variant = process.argv[2];
const script = `
export default { async fetch(req, env) {
  const u = new URL(req.url);
  if (u.pathname === "/d1") { const r = await env.DB.prepare("SELECT 1 AS x").first(); return Response.json(r); }
  if (u.pathname === "/d1x2") { await env.DB.prepare("SELECT 1 AS x").first(); const r = await env.DB.prepare("SELECT 2 AS x").all(); return Response.json(r.results); }
  if (u.pathname === "/log") { console.log(JSON.stringify({level:"info",event:"request",a:1,b:"xxxxxxxxxxxxxxxxxxxxxxxxx"})); return new Response("hi"); }
  return new Response("hi");
} }`;
const mf = new Miniflare(
  convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    telemetry: { enabled: false },
    handleStructuredLogs: variant === "print" ? undefined : () => {},
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
for (const p of ["/", "/log", "/d1", "/d1x2"]) {
  const r = await steadyLoad({ url: url + p, connections: 10, seconds: 3 });
  console.log(p, Math.round(r.rps), r.p50_ms, r.p99_ms);
}
await mf.dispose();
