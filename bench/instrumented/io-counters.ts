// The benchmark's I/O counters: Proxies around the bindings a request (or the workspace's
// Durable Object) reaches the outside world through, counting each round trip and where it
// goes. Used only by the bench's instrumented entry (./index.ts); nothing here is in src/ or
// the production bundle.

/**
 * Round trips of one request, or of one Durable Object since it was last asked. Plain data
 * (numbers and strings), so that an object can hand its own over RPC.
 */
export type IoCount = {
  /** D1 round trips: a statement's first/run/all/raw, a batch (one), an exec. */
  d1: number;
  /** The part of `d1` made through a D1 session (`env.DB.withSession()`: replicas allowed). */
  d1Session: number;
  /** Calls to Durable Object stubs (RPC methods and fetch). */
  do: number;
  /**
   * Twilio calls: through the TwilioGate object (TWILIO_GATE), which sends each one on, or,
   * without a gate, through the TWILIO_UPSTREAM binding.
   */
  twilio: number;
  /** Calls through the LIVEKIT_UPSTREAM binding (0 when it is not bound). */
  livekit: number;
  // Where this side's own D1 round trips go (see d1Target): the first three to the primary,
  // the last two to a replica near the caller.
  /** Outside any session: D1 sends them to the primary. */
  d1NoSession: number;
  /** The first trip of a session opened with "first-primary": the primary. */
  d1FirstPrimary: number;
  /** A trip in a session that writes (any statement of it): D1 forwards writes to the primary. */
  d1SessionWrite: number;
  /** Reads in a "first-unconstrained" session (or withSession()) before it needed fresh data. */
  d1Unconstrained: number;
  /**
   * Reads that must see at least a bookmark: in a session opened with one, or after a write or
   * the first-primary trip of their session. A replica serves them, once it has caught up.
   */
  d1Bookmark: number;
  /** The workspace objects' own D1 round trips (part of `d1`), collected from them. */
  objectD1: number;
  /** The objects' own Twilio calls (part of `twilio`). */
  objectTwilio: number;
  /** The objects' own LiveKit calls (part of `livekit`). */
  objectLivekit: number;
  /** Trips started while another trip of the same side (Worker, or one object) was in flight. */
  overlapped: number;
  /**
   * Every trip in the order it started: `d1:primary`, `d1:replica`, `do` (`do@enam` with a
   * location hint), `twilio`, `livekit`; an object's own are prefixed `obj:` and placed after
   * the Worker's first call to that object; `+` marks a trip that overlapped (see above).
   */
  trace: string[];
};

export const newIoCount = (): IoCount => ({
  d1: 0,
  d1Session: 0,
  do: 0,
  twilio: 0,
  livekit: 0,
  d1NoSession: 0,
  d1FirstPrimary: 0,
  d1SessionWrite: 0,
  d1Unconstrained: 0,
  d1Bookmark: 0,
  objectD1: 0,
  objectTwilio: 0,
  objectLivekit: 0,
  overlapped: 0,
  trace: [],
});

/**
 * Adds an object's counts (its takeIoCount()) to the request's: its D1 and upstream calls count
 * as the request's and as the object's; its trace goes in at `at` (just after the Worker's first
 * call to it; the end when not given).
 */
export function addObjectIoCount(into: IoCount, object: IoCount, at?: number): void {
  into.d1 += object.d1;
  into.d1Session += object.d1Session;
  into.twilio += object.twilio;
  into.livekit += object.livekit;
  into.objectD1 += object.d1;
  into.objectTwilio += object.twilio;
  into.objectLivekit += object.livekit;
  into.overlapped += object.overlapped;
  const trips = object.trace.map((trip) =>
    trip.startsWith("+") ? `+obj:${trip.slice(1)}` : `obj:${trip}`,
  );
  into.trace.splice(at ?? into.trace.length, 0, ...trips);
}

/**
 * The `X-IO-Counts` header: `d1=N; do=N; twilio=N; livekit=N; d1_session=N` (totals, the
 * objects' included), then where the Worker's own D1 trips go and what the objects did.
 */
export function formatIoCounts(io: IoCount): string {
  return [
    `d1=${io.d1}`,
    `do=${io.do}`,
    `twilio=${io.twilio}`,
    `livekit=${io.livekit}`,
    `d1_session=${io.d1Session}`,
    `d1_no_session=${io.d1NoSession}`,
    `d1_first_primary=${io.d1FirstPrimary}`,
    `d1_session_write=${io.d1SessionWrite}`,
    `d1_unconstrained=${io.d1Unconstrained}`,
    `d1_bookmark=${io.d1Bookmark}`,
    `obj_d1=${io.objectD1}`,
    `obj_twilio=${io.objectTwilio}`,
    `obj_livekit=${io.objectLivekit}`,
    `overlapped=${io.overlapped}`,
  ].join("; ");
}

/** The `X-IO-Trace` header: the trace, space-separated (`-` when the request made no trip). */
export function formatIoTrace(io: IoCount): string {
  return io.trace.length === 0 ? "-" : io.trace.join(" ");
}

/** The counts of an `X-IO-Counts` header, by name (`d1`, `do`, ...); null without one. */
export function parseIoCounts(header: string | null): Record<string, number> | null {
  if (header === null) return null;
  const counts: Record<string, number> = {};
  for (const part of header.split(";")) {
    const match = /^\s*(\w+)=(\d+)\s*$/.exec(part);
    if (match?.[1] && match[2]) counts[match[1]] = Number(match[2]);
  }
  return counts;
}

/** The bindings the counters look at, the optional ones read loosely. */
export type CountedEnv = Env & {
  /** "1": count and report (the bench's I/O instance, the bench tests). */
  IO_COUNTERS?: string;
  /** The LiveKit stand-in, when a configuration binds it. */
  LIVEKIT_UPSTREAM?: Fetcher;
};

export function countersOn(env: Env): boolean {
  return (env as CountedEnv).IO_COUNTERS === "1";
}

// ---- Trips ---------------------------------------------------------------------------------

/** Trips of one side (the Worker's request, or one object) under way now, for `overlapped`. */
const inFlight = new WeakMap<IoCount, number>();

/**
 * Runs one round trip (`run`), recording `name` in the trace first, marked `+` when another
 * trip of the same side is still in flight. The call's own result is returned as it is (an RPC
 * promise keeps its pipelining); its settling is only watched.
 */
function trip<T>(io: IoCount, name: string, run: () => T): T {
  const busy = inFlight.get(io) ?? 0;
  if (busy > 0) io.overlapped++;
  io.trace.push(busy > 0 ? `+${name}` : name);
  inFlight.set(io, busy + 1);
  const done = () => {
    inFlight.set(io, (inFlight.get(io) ?? 1) - 1);
  };
  let result: T;
  try {
    result = run();
  } catch (error) {
    done();
    throw error;
  }
  Promise.resolve(result).then(done, done);
  return result;
}

// ---- D1 ----------------------------------------------------------------------------------

/** A D1 round trip about to be made: whether any of its statements writes. */
type D1Trip = <T>(writes: boolean, run: () => T) => T;

/** The real statement behind a counting one (batch() is given the real ones), and its SQL. */
const realStatements = new WeakMap<object, { real: D1PreparedStatement; sql: string }>();

/**
 * Whether a statement may write, from its SQL: anything but a SELECT (or VALUES, EXPLAIN, or a
 * WITH ... SELECT naming no INSERT, UPDATE, DELETE or REPLACE). D1 decides this itself; this is
 * how the bench guesses where D1 will send it.
 */
export function sqlWrites(sql: string): boolean {
  const text = sql.replace(/^(\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*/, "");
  if (/^(SELECT|VALUES|EXPLAIN)\b/i.test(text)) return false;
  if (/^WITH\b/i.test(text)) return /\b(INSERT|UPDATE|DELETE|REPLACE)\b/i.test(text);
  return true;
}

function countingStatement(
  statement: D1PreparedStatement,
  sql: string,
  d1Trip: D1Trip,
): D1PreparedStatement {
  const proxy = new Proxy(statement, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "bind") {
        return (...args: unknown[]) =>
          countingStatement(Reflect.apply(value, target, args) as D1PreparedStatement, sql, d1Trip);
      }
      if (prop === "first" || prop === "run" || prop === "all" || prop === "raw") {
        return (...args: unknown[]) =>
          d1Trip(sqlWrites(sql), () => Reflect.apply(value, target, args));
      }
      return value.bind(target);
    },
  });
  realStatements.set(proxy, { real: statement, sql });
  return proxy;
}

const realStatement = (s: D1PreparedStatement) => realStatements.get(s)?.real ?? s;
/** A statement not made through the counters is taken to write: the primary, to be safe. */
const statementWrites = (s: D1PreparedStatement) => sqlWrites(realStatements.get(s)?.sql ?? "");

/** prepare() and batch() of a database or a session, each trip reported to `d1Trip`. */
function countingQueries<T extends D1Database | D1DatabaseSession>(target: T, d1Trip: D1Trip) {
  return (prop: string | symbol, value: (...args: unknown[]) => unknown) => {
    if (prop === "prepare") {
      return (sql: string, ...rest: unknown[]) =>
        countingStatement(
          Reflect.apply(value, target, [sql, ...rest]) as D1PreparedStatement,
          sql,
          d1Trip,
        );
    }
    if (prop === "batch") {
      return (statements: D1PreparedStatement[], ...rest: unknown[]) =>
        d1Trip(statements.some(statementWrites), () =>
          Reflect.apply(value, target, [statements.map(realStatement), ...rest]),
        );
    }
    return null;
  };
}

/**
 * Where a session's trip goes, as D1 documents it (developers.cloudflare.com/d1/best-practices/
 * read-replication/): a write goes to the primary; the first query of a "first-primary" session
 * goes to the primary; any other read may be served by a replica, one at least as up to date as
 * the session's bookmark: "unconstrained" until the session needs a fresh state (it was opened
 * with a bookmark, wrote, or made its first-primary trip), "bookmark" after.
 */
function countingSession(
  session: D1DatabaseSession,
  io: IoCount,
  opened: string | undefined,
): D1DatabaseSession {
  const mode =
    opened === undefined || opened === "first-unconstrained"
      ? "unconstrained"
      : opened === "first-primary"
        ? "first-primary"
        : "bookmark";
  let trips = 0;
  let needsFresh = mode === "bookmark";
  const d1Trip: D1Trip = (writes, run) => {
    const first = trips++ === 0;
    io.d1++;
    io.d1Session++;
    let target: "primary" | "replica";
    if (writes) {
      io.d1SessionWrite++;
      target = "primary";
      needsFresh = true;
    } else if (mode === "first-primary" && first) {
      io.d1FirstPrimary++;
      target = "primary";
      needsFresh = true;
    } else if (needsFresh) {
      io.d1Bookmark++;
      target = "replica";
    } else {
      io.d1Unconstrained++;
      target = "replica";
    }
    return trip(io, `d1:${target}`, run);
  };
  const queries = countingQueries(session, d1Trip);
  return new Proxy(session, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return queries(prop, value) ?? value.bind(target);
    },
  });
}

export function countingD1(db: D1Database, io: IoCount): D1Database {
  const d1Trip: D1Trip = (_writes, run) => {
    io.d1++;
    io.d1NoSession++;
    return trip(io, "d1:primary", run);
  };
  const queries = countingQueries(db, d1Trip);
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "exec") {
        return (...args: unknown[]) => d1Trip(true, () => Reflect.apply(value, target, args));
      }
      if (prop === "withSession") {
        return (opened?: string, ...rest: unknown[]) =>
          countingSession(
            Reflect.apply(value, target, [opened, ...rest]) as D1DatabaseSession,
            io,
            opened,
          );
      }
      return queries(prop, value) ?? value.bind(target);
    },
  });
}

// ---- Upstreams (service bindings) and Durable Objects --------------------------------------

/**
 * A stub or service binding whose every method call (fetch, connect, an RPC method) is a trip
 * named `name`, counted by `count`. Reflect.apply, never `member.apply`: on an RPC stub every
 * property name is a remote method, `apply` included.
 */
function countingCalls<T extends object>(
  target: T,
  io: IoCount,
  name: string,
  count: () => void,
): T {
  return new Proxy(target, {
    get(real, prop) {
      const member = Reflect.get(real, prop, real);
      if (typeof member !== "function") return member;
      return (...args: unknown[]) => {
        count();
        return trip(io, name, () => Reflect.apply(member, real, args));
      };
    },
  });
}

/**
 * The namespace's stubs count their calls into `io`, as `do` trips (`do@<hint>` when the stub
 * was asked for with a location hint). `reached` is told each object the request addressed (its
 * uncounted stub, by which its own counts are collected) and, once the Worker first calls it,
 * where in the trace that object's own trips belong: just after that call.
 */
function countingNamespace<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  io: IoCount,
  reached: ObjectsReached<T>,
): DurableObjectNamespace<T> {
  return new Proxy(namespace, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop !== "get" && prop !== "getByName") return value.bind(target);
      return (...args: unknown[]) => {
        const stub = Reflect.apply(value, target, args) as DurableObjectStub<T>;
        const hint = (args[1] as DurableObjectNamespaceGetDurableObjectOptions | undefined)
          ?.locationHint;
        reached.stub(stub);
        return countingCalls(stub, io, hint ? `do@${hint}` : "do", () => {
          io.do++;
          reached.called(stub, io.trace.length + 1);
        });
      };
    },
  });
}

/** What the Worker's side reports of the objects it reached (see countingNamespace). */
export type ObjectsReached<T extends Rpc.DurableObjectBranded | undefined = WorkspaceClass> = {
  stub(stub: DurableObjectStub<T>): void;
  /** The Worker is calling this object; its own trips go at `traceIndex` of the request's. */
  called(stub: DurableObjectStub<T>, traceIndex: number): void;
};

type WorkspaceClass = Env["WORKSPACE_NUMBERS"] extends DurableObjectNamespace<infer T> ? T : never;

/** The namespace's stubs run `count` on each of their calls (traced as `name`). */
function countingStubs<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  io: IoCount,
  name: string,
  count: () => void,
): DurableObjectNamespace<T> {
  return new Proxy(namespace, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop !== "get" && prop !== "getByName") return value.bind(target);
      return (...args: unknown[]) =>
        countingCalls(Reflect.apply(value, target, args) as DurableObjectStub<T>, io, name, count);
    },
  });
}

/** A workspace object as the Worker's side addresses it. */
export type WorkspaceStub = DurableObjectStub<WorkspaceClass>;

/**
 * The same bindings with D1 and the upstreams counted into `io`; given `reached`, the calls to
 * the workspace objects too (the Worker's side; an object counts only its D1 and upstreams).
 */
export function countingEnv(env: Env, io: IoCount, reached?: ObjectsReached): CountedEnv {
  const loose = env as CountedEnv;
  const counted: CountedEnv = { ...loose, DB: countingD1(env.DB, io) };
  if (loose.TWILIO_UPSTREAM) {
    counted.TWILIO_UPSTREAM = countingCalls(loose.TWILIO_UPSTREAM, io, "twilio", () => {
      io.twilio++;
    });
  }
  if (loose.TWILIO_GATE) {
    // A call to the gate is a Twilio call (the gate's own, onward, is not counted again).
    counted.TWILIO_GATE = countingStubs(loose.TWILIO_GATE, io, "twilio", () => {
      io.twilio++;
    });
  }
  if (loose.LIVEKIT_UPSTREAM) {
    counted.LIVEKIT_UPSTREAM = countingCalls(loose.LIVEKIT_UPSTREAM, io, "livekit", () => {
      io.livekit++;
    });
  }
  if (reached) counted.WORKSPACE_NUMBERS = countingNamespace(env.WORKSPACE_NUMBERS, io, reached);
  return counted;
}
