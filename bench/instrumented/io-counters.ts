// The benchmark's I/O counters: Proxies around the bindings a request (or the workspace's
// Durable Object) reaches the outside world through, counting each round trip. Used only by
// the bench's instrumented entry (./index.ts); nothing here is in src/ or the production bundle.

/** Round trips of one request, or of one Durable Object since it was last asked. */
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
};

export const newIoCount = (): IoCount => ({ d1: 0, d1Session: 0, do: 0, twilio: 0, livekit: 0 });

export function addIoCount(into: IoCount, more: IoCount): void {
  into.d1 += more.d1;
  into.d1Session += more.d1Session;
  into.do += more.do;
  into.twilio += more.twilio;
  into.livekit += more.livekit;
}

/** The `X-IO-Counts` header: `d1=N; do=N; twilio=N; livekit=N; d1_session=N`. */
export function formatIoCounts(io: IoCount): string {
  return `d1=${io.d1}; do=${io.do}; twilio=${io.twilio}; livekit=${io.livekit}; d1_session=${io.d1Session}`;
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

// ---- D1 ----------------------------------------------------------------------------------

/** The real statement behind a counting one: batch() is given the real ones. */
const realStatements = new WeakMap<object, D1PreparedStatement>();

function countingStatement(statement: D1PreparedStatement, trip: () => void): D1PreparedStatement {
  const proxy = new Proxy(statement, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "bind") {
        return (...args: unknown[]) =>
          countingStatement(Reflect.apply(value, target, args) as D1PreparedStatement, trip);
      }
      if (prop === "first" || prop === "run" || prop === "all" || prop === "raw") {
        return (...args: unknown[]) => {
          trip();
          return Reflect.apply(value, target, args);
        };
      }
      return value.bind(target);
    },
  });
  realStatements.set(proxy, statement);
  return proxy;
}

const realStatement = (s: D1PreparedStatement) => realStatements.get(s) ?? s;

/** A D1 session whose round trips count as D1 round trips and as session ones. */
function countingSession(session: D1DatabaseSession, io: IoCount): D1DatabaseSession {
  const trip = () => {
    io.d1++;
    io.d1Session++;
  };
  return new Proxy(session, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "prepare") {
        return (...args: unknown[]) =>
          countingStatement(Reflect.apply(value, target, args) as D1PreparedStatement, trip);
      }
      if (prop === "batch") {
        return (statements: D1PreparedStatement[], ...rest: unknown[]) => {
          trip();
          return Reflect.apply(value, target, [statements.map(realStatement), ...rest]);
        };
      }
      return value.bind(target);
    },
  });
}

export function countingD1(db: D1Database, io: IoCount): D1Database {
  const trip = () => {
    io.d1++;
  };
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      switch (prop) {
        case "prepare":
          return (...args: unknown[]) =>
            countingStatement(Reflect.apply(value, target, args) as D1PreparedStatement, trip);
        case "batch":
          return (statements: D1PreparedStatement[], ...rest: unknown[]) => {
            trip();
            return Reflect.apply(value, target, [statements.map(realStatement), ...rest]);
          };
        case "exec":
          return (...args: unknown[]) => {
            trip();
            return Reflect.apply(value, target, args);
          };
        case "withSession":
          return (...args: unknown[]) =>
            countingSession(Reflect.apply(value, target, args) as D1DatabaseSession, io);
        default:
          return value.bind(target);
      }
    },
  });
}

// ---- Upstreams (service bindings) and Durable Objects --------------------------------------

/**
 * A stub or service binding whose every method call (fetch, connect, an RPC method) runs
 * `count` first. Reflect.apply, never `member.apply`: on an RPC stub every property name is a
 * remote method, `apply` included.
 */
function countingCalls<T extends object>(target: T, count: () => void): T {
  return new Proxy(target, {
    get(real, prop) {
      const member = Reflect.get(real, prop, real);
      if (typeof member !== "function") return member;
      return (...args: unknown[]) => {
        count();
        return Reflect.apply(member, real, args);
      };
    },
  });
}

/**
 * The namespace's stubs count their calls into `io`; `reached` is told each object the
 * request addressed (its uncounted stub), so that the object's own counts can be collected.
 */
function countingNamespace<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  io: IoCount,
  reached: (stub: DurableObjectStub<T>) => void,
): DurableObjectNamespace<T> {
  return new Proxy(namespace, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop !== "get" && prop !== "getByName") return value.bind(target);
      return (...args: unknown[]) => {
        const stub = Reflect.apply(value, target, args) as DurableObjectStub<T>;
        reached(stub);
        return countingCalls(stub, () => {
          io.do++;
        });
      };
    },
  });
}

/** The namespace's stubs run `count` on each of their calls. */
function countingStubs<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  count: () => void,
): DurableObjectNamespace<T> {
  return new Proxy(namespace, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop !== "get" && prop !== "getByName") return value.bind(target);
      return (...args: unknown[]) =>
        countingCalls(Reflect.apply(value, target, args) as DurableObjectStub<T>, count);
    },
  });
}

/** A workspace object as the Worker's side addresses it. */
export type WorkspaceStub = DurableObjectStub<
  Env["WORKSPACE_NUMBERS"] extends DurableObjectNamespace<infer T> ? T : never
>;

/**
 * The same bindings with D1 and the upstreams counted into `io`; given `reached`, the calls to
 * the workspace objects too (the Worker's side; an object counts only its D1 and upstreams).
 */
export function countingEnv(
  env: Env,
  io: IoCount,
  reached?: (stub: WorkspaceStub) => void,
): CountedEnv {
  const loose = env as CountedEnv;
  const counted: CountedEnv = { ...loose, DB: countingD1(env.DB, io) };
  if (loose.TWILIO_UPSTREAM) {
    counted.TWILIO_UPSTREAM = countingCalls(loose.TWILIO_UPSTREAM, () => {
      io.twilio++;
    });
  }
  if (loose.TWILIO_GATE) {
    // A call to the gate is a Twilio call (the gate's own, onward, is not counted again).
    counted.TWILIO_GATE = countingStubs(loose.TWILIO_GATE, () => {
      io.twilio++;
    });
  }
  if (loose.LIVEKIT_UPSTREAM) {
    counted.LIVEKIT_UPSTREAM = countingCalls(loose.LIVEKIT_UPSTREAM, () => {
      io.livekit++;
    });
  }
  if (reached) counted.WORKSPACE_NUMBERS = countingNamespace(env.WORKSPACE_NUMBERS, io, reached);
  return counted;
}
