// The benchmark's reference Worker with no framework (`d1_floor`, and `local_costs`' bare
// Worker): what a route's D1 round trips and Cache API calls cost on this machine's local D1
// and cache, with none of the API's work around them.
//
// GET /?key_hash=H   list's own D1 round trip: the caller lookup and the page of numbers, in
//                    one batch through a D1 session, prepared by the API's own statements
//                    (src/db), against a database with the API's schema and list's 20 rows.
// GET /?n=N          N sequential round trips of `SELECT ?`: one round trip's bare cost.
// &lookups=L         L Cache API lookups of an absent entry (list's bookmark lookup for a
//                    client without recent writes).
// &writes=W          W Cache API writes of a bookmark-sized entry, each under a new URL (a
//                    write's bookmark under its key's hash).
import { findCallerStatement } from "../../src/db/api-keys";
import { listActiveStatement } from "../../src/db/phone-numbers";

/** A D1 bookmark's shape (`00000000-00000001-00004f2c-` and 32 hex digits). */
const BOOKMARK = `00000000-00000001-00004f2c-${"0".repeat(32)}`;

let written = 0;

export default {
  async fetch(request, env) {
    const params = new URL(request.url).searchParams;
    const count = (name: string) => Number(params.get(name) ?? "0");
    for (let i = 0; i < count("lookups"); i++) {
      await caches.default.match("https://bench.internal/absent");
    }
    let body: unknown = null;
    const keyHash = params.get("key_hash");
    if (keyHash !== null) {
      const db = env.DB.withSession("first-unconstrained");
      const [caller, numbers] = await db.batch([
        findCallerStatement(db, keyHash),
        listActiveStatement(db, keyHash),
      ]);
      if (!caller?.results[0]) return new Response("unknown key hash", { status: 401 });
      body = { numbers: numbers?.results ?? [] };
    }
    for (let i = 0; i < count("n"); i++) {
      body = await env.DB.prepare("SELECT ? AS i").bind(i).first();
    }
    for (let i = 0; i < count("writes"); i++) {
      written += 1;
      await caches.default.put(
        `https://bench.internal/written/${written}`,
        new Response(BOOKMARK, { headers: { "Cache-Control": "max-age=60" } }),
      );
    }
    return Response.json(body);
  },
} satisfies ExportedHandler<{ DB: D1Database }>;
