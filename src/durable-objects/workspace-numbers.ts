import { DurableObject } from "cloudflare:workers";
import type { RatePolicy } from "../config";
import type { UpstreamCall } from "../log";
import type { Limited } from "../rate-limits/limiter";
import type { ImportRequest } from "../saga/imports";
import type { Idempotency } from "../saga/ledger";
import type { PurchaseRequest, ReleaseRequest, UpdateRequest } from "../saga/number-saga";
import type { PurchaseOutcome, ReleaseOutcome, UpdateOutcome } from "../saga/outcomes";
import type { SearchOutcome, SearchRequest } from "./search";
import type { WorkspaceParts } from "./workspace-parts";

/**
 * An answer of the object: the saga's outcome, the D1 bookmark of its writes so far, and the
 * upstream calls that went well, for the request's log line (see logUpstreamCall).
 */
export type ObjectAnswer<T> = T & { bookmark: string | null; upstream: UpstreamCall[] };

/** A search's answer: its outcome, and the upstream calls that went well. */
export type SearchAnswer = SearchOutcome & { upstream: UpstreamCall[] };

/**
 * One per workspace, reached by the workspace id: serializes the workspace's purchases,
 * imports, changes and releases. A thin shell: its RPC methods and its alarm hand the work to
 * the saga, which runs over this object's SQLite storage (the ledger), D1, the carrier and
 * LiveKit. Searches, purchases, imports, changes and releases are first counted against the
 * workspace's rate limits (src/rate-limits, the limits given by the caller); one over its limit
 * is refused before anything is written or called.
 */
export class WorkspaceNumbers extends DurableObject<Env> {
  /** The saga, the rate limiter and the D1 session: see the constructor. */
  #parts: WorkspaceParts | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // The saga and everything it calls (the carriers' clients, their wire schemas) are loaded
    // here, when the object starts, not when the Worker's module is evaluated: most isolates
    // only serve reads and never need them. No event reaches the object before they are
    // ready and its ledger is migrated.
    void ctx.blockConcurrencyWhile(async () => {
      const { workspaceParts } = await import("./workspace-parts");
      this.#parts = workspaceParts(ctx, env);
    });
  }

  get #ready(): WorkspaceParts {
    if (!this.#parts) throw new Error("the workspace object was used before it started");
    return this.#parts;
  }

  /** Remembers the numbers a search returned; only these may be bought, until they expire. */
  rememberSearch(e164s: string[], ttlMs: number): void {
    this.#ready.saga.rememberSearch(e164s, ttlMs);
  }

  /**
   * Searches the carrier's inventory, within the workspace's search limit, and remembers the
   * numbers found: only these may be bought, until they expire.
   */
  search(request: SearchRequest, limit: RatePolicy): Promise<Limited<SearchAnswer>> {
    const { limits, saga, search } = this.#ready;
    const upstream: UpstreamCall[] = [];
    return limits.run("search", limit, async () => {
      const outcome = { ...(await search({ ...request, upstream })), upstream };
      if (outcome.ok) {
        saga.rememberSearch(
          outcome.numbers.map((n) => n.e164),
          request.ttlMs,
        );
      }
      return outcome;
    });
  }

  purchase(
    request: PurchaseRequest,
    limit: RatePolicy,
  ): Promise<Limited<ObjectAnswer<PurchaseOutcome>>> {
    return this.#write(limit, (upstream) => this.#ready.saga.purchase({ ...request, upstream }));
  }

  /** Imports a number the customer brings (POST /v1/agents/phone-numbers). */
  importNumber(
    request: ImportRequest,
    idempotency: Idempotency | null,
    limit: RatePolicy,
  ): Promise<Limited<ObjectAnswer<PurchaseOutcome>>> {
    return this.#write(limit, (upstream) =>
      this.#ready.saga.importNumber({ ...request, upstream }, idempotency),
    );
  }

  update(request: UpdateRequest, limit: RatePolicy): Promise<Limited<ObjectAnswer<UpdateOutcome>>> {
    return this.#write(limit, (upstream) => this.#ready.saga.update({ ...request, upstream }));
  }

  release(
    request: ReleaseRequest,
    limit: RatePolicy,
  ): Promise<Limited<ObjectAnswer<ReleaseOutcome>>> {
    return this.#write(limit, (upstream) => this.#ready.saga.release({ ...request, upstream }));
  }

  /** Reconciliation: the carrier no longer holds this number. */
  recordLostNumber(workspaceId: string, id: string): Promise<boolean> {
    return this.#ready.saga.recordLostNumber(workspaceId, id);
  }

  override alarm(): Promise<void> {
    return this.#ready.saga.finishDueWork();
  }

  /**
   * A write, within the workspace's write limit: the saga's outcome with the D1 bookmark of its
   * writes and the upstream calls it listed as they went well.
   */
  #write<T extends object>(
    limit: RatePolicy,
    work: (upstream: UpstreamCall[]) => Promise<T>,
  ): Promise<Limited<ObjectAnswer<T>>> {
    const upstream: UpstreamCall[] = [];
    return this.#ready.limits.run("write", limit, async () => ({
      ...(await work(upstream)),
      bookmark: this.#ready.d1.getBookmark(),
      upstream,
    }));
  }
}

/**
 * The workspace's object. It is created near the D1 primary (D1_PRIMARY_LOCATION_HINT), so that
 * its own D1 round trips and its carrier calls stay in one region whoever asks first.
 */
export function workspaceObject(env: Env, workspaceId: string) {
  const hint = (env as Env & { D1_PRIMARY_LOCATION_HINT?: string }).D1_PRIMARY_LOCATION_HINT;
  return env.WORKSPACE_NUMBERS.getByName(
    workspaceId,
    hint ? { locationHint: hint as DurableObjectLocationHint } : undefined,
  );
}
