import type { Context } from "hono";
import type { AppEnv } from "../app-env";

// Reads from the nearest D1 replica, with read-your-writes.
//
// Every authenticated read (the API key lookup of every route, list, get) runs in a D1 session
// (the Sessions API), so that read replication may serve it from the nearest replica. A write
// runs in the workspace's Durable Object against the primary, which answers with the D1
// bookmark of its write. The Worker carries that bookmark to the reads that follow, two ways:
// - to the client, in the `D1-Bookmark` response header; a client that sends it back on any
//   request, to any location, reads at least that write;
// - in the cache of this Cloudflare location, under the API key's hash, for BOOKMARK_TTL_SECONDS:
//   a client that does not carry the header still reads its own writes here.
// A session opened with a bookmark reads from a replica that has caught up with it (or the
// primary); without one, from the nearest replica, which may lag by a few seconds.

/** Anything statements can be prepared on: the database, or a session of it. */
export type D1Reader = Pick<D1Database, "prepare" | "batch">;

export const BOOKMARK_HEADER = "D1-Bookmark";

/** How long this location remembers a client's last write. */
const BOOKMARK_TTL_SECONDS = 60;

/** D1 bookmarks are short strings of hex digits and dashes; anything else is ignored. */
const BOOKMARK_SHAPE = /^[0-9a-f-]{1,128}$/i;

function bookmarkCacheKey(keyHash: string): string {
  return `https://d1-bookmarks.phone-numbers.internal/${keyHash}`;
}

async function cachedBookmark(keyHash: string): Promise<string | null> {
  try {
    const hit = await caches.default.match(bookmarkCacheKey(keyHash));
    const text = hit ? await hit.text() : "";
    return BOOKMARK_SHAPE.test(text) ? text : null;
  } catch {
    return null;
  }
}

/**
 * The D1 session this request reads through: at least as new as the client's last write when
 * it carries its bookmark (header, or with `ownWrites` this location's cache), else the nearest
 * replica. Reads of the workspace's numbers (list, get) pass `ownWrites`; routes that hand their
 * work to the workspace's object (search and the writes) read only the key and the agent here,
 * which the client's own writes never change, and the object reads the primary itself: they
 * skip the cache lookup.
 */
export async function readSession(
  c: Context<AppEnv>,
  { ownWrites }: { ownWrites: boolean },
): Promise<D1Reader> {
  const open = c.get("d1Session");
  if (open) return open;
  const given = c.req.header(BOOKMARK_HEADER);
  const bookmark =
    given && BOOKMARK_SHAPE.test(given)
      ? given
      : ownWrites
        ? await cachedBookmark(c.get("keyHash"))
        : null;
  const session = c.env.DB.withSession(bookmark ?? "first-unconstrained");
  c.set("d1Session", session);
  return session;
}

/**
 * After a write: hands its bookmark to the client and to this location's cache. The cache write
 * is awaited (it is local to the location): the client's next request may follow at once.
 */
export async function rememberWrite(c: Context<AppEnv>, bookmark: string | null): Promise<void> {
  if (!bookmark) return;
  c.header(BOOKMARK_HEADER, bookmark);
  await cacheBookmark(c.get("keyHash"), bookmark);
}

/** This location's cache keeps the bookmark of the last write made with the key (its hash). */
export async function cacheBookmark(keyHash: string, bookmark: string): Promise<void> {
  try {
    await caches.default.put(
      bookmarkCacheKey(keyHash),
      new Response(bookmark, { headers: { "Cache-Control": `max-age=${BOOKMARK_TTL_SECONDS}` } }),
    );
  } catch {
    // A location without a cache: the client still has the header.
  }
}
