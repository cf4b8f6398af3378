// The benchmark's build of the Worker: the real app and Durable Object (src/index.ts), wrapped
// so that with IO_COUNTERS="1" every response carries
//   X-IO-Counts: d1=N; do=N; twilio=N; livekit=N; d1_session=N; d1_no_session=N; ...
//   X-IO-Trace: d1:primary do obj:d1:primary obj:twilio obj:d1:primary
// the D1 round trips (the workspace objects' own included) and where each goes, the Durable
// Object calls and upstream calls the request made, and their order (see io-counters.ts).
// Without IO_COUNTERS="1" requests go straight to the real app (the bench's load runs). Built
// by bench/lib/build.mjs with the top-level wrangler.toml and this file as the entry; run by
// test/bench in vitest. Never part of the production bundle.
import app, { WorkspaceNumbers as RealWorkspaceNumbers } from "../../src/index";
import {
  addObjectIoCount,
  countersOn,
  countingEnv,
  formatIoCounts,
  formatIoTrace,
  type IoCount,
  newIoCount,
  type WorkspaceStub,
} from "./io-counters";

/** The real Worker, as src/index.ts exports it by default. */
const real: {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response>;
} = app;

/**
 * The real object; with IO_COUNTERS="1" its D1 and upstream calls are counted, and handed out
 * (then reset) by takeIoCount().
 */
export class WorkspaceNumbers extends RealWorkspaceNumbers {
  readonly #io: IoCount;

  constructor(ctx: DurableObjectState, env: Env) {
    const io = newIoCount();
    super(ctx, countersOn(env) ? countingEnv(env, io) : env);
    this.#io = io;
  }

  /**
   * The object's round trips since the last call. Counts are per object, not per request: the
   * bench asks after each request, one request at a time.
   */
  takeIoCount(): IoCount {
    const taken = { ...this.#io, trace: [...this.#io.trace] };
    Object.assign(this.#io, newIoCount());
    return taken;
  }
}

// The deployment's Twilio gate, as it is: its calls are counted by its callers (as `twilio`).
export { TwilioGate } from "../../src/index";

type InstrumentedStub = DurableObjectStub<WorkspaceNumbers>;

export default {
  async fetch(request, env, ctx) {
    if (!countersOn(env)) return real.fetch(request, env, ctx);
    const io = newIoCount();
    // Each object the request addressed, and where its own trips go in the request's trace.
    const reached = new Map<string, { stub: WorkspaceStub; at?: number }>();
    const counted = countingEnv(env, io, {
      stub: (stub) => {
        const key = stub.id.toString();
        if (!reached.has(key)) reached.set(key, { stub });
      },
      called: (stub, at) => {
        const object = reached.get(stub.id.toString());
        if (object && object.at === undefined) object.at = at;
      },
    });
    const response = await real.fetch(request, counted, ctx);
    // The latest place first, so that the earlier places still hold; an object never called
    // (its trips, if any, were its alarm's) goes at the end.
    const objects = [...reached.values()].sort((a, b) => (b.at ?? -1) - (a.at ?? -1));
    for (const { stub, at } of objects) {
      addObjectIoCount(io, await (stub as unknown as InstrumentedStub).takeIoCount(), at);
    }
    const reported = new Response(response.body, response);
    reported.headers.set("X-IO-Counts", formatIoCounts(io));
    reported.headers.set("X-IO-Trace", formatIoTrace(io));
    return reported;
  },
} satisfies ExportedHandler<Env>;
