// Counts D1 round trips and Durable Object calls per request, for the benchmark only: it is on
// when the IO_COUNTERS var is "1" (never set in wrangler.toml), and compiled out of the
// production bundle: callers test IO_COUNTERS_BUILD (a wrangler `define`) first, so the
// minifier drops this module when it is false.

import { appMiddleware } from "./app-env";
import type { WorkspaceNumbers } from "./durable-objects/workspace-numbers";

declare global {
  const IO_COUNTERS_BUILD: boolean;
}

export type IoCounter = { d1: number; objectCalls: number; objects: DurableObjectStub[] };

export function ioCountersEnabled(env: Env): boolean {
  return (env as Env & { IO_COUNTERS?: string }).IO_COUNTERS === "1";
}

const unwrapped = new WeakMap<object, D1PreparedStatement>();

function countingStatement(statement: D1PreparedStatement, count: () => void): D1PreparedStatement {
  const proxy = new Proxy(statement, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "bind") {
        return (...args: unknown[]) => countingStatement(value.apply(target, args), count);
      }
      if (prop === "first" || prop === "run" || prop === "all" || prop === "raw") {
        return (...args: unknown[]) => {
          count();
          return value.apply(target, args);
        };
      }
      return value.bind(target);
    },
  });
  unwrapped.set(proxy, statement);
  return proxy;
}

export function countingD1(db: D1Database, count: () => void): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "prepare") {
        return (sql: string) => countingStatement(target.prepare(sql), count);
      }
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          count();
          return target.batch(statements.map((s) => unwrapped.get(s) ?? s));
        };
      }
      if (prop === "exec") {
        return (sql: string) => {
          count();
          return target.exec(sql);
        };
      }
      return value.bind(target);
    },
  });
}

function countingNamespace<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  counter: IoCounter,
): DurableObjectNamespace<T> {
  return new Proxy(namespace, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop !== "getByName" && prop !== "get") {
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (...args: unknown[]) => {
        const stub = value.apply(target, args) as DurableObjectStub;
        counter.objects.push(stub);
        return new Proxy(stub, {
          get(stubTarget, method) {
            const member = Reflect.get(stubTarget, method);
            if (typeof member !== "function") return member;
            // Reflect.apply: on an RPC stub, `member.apply` would be a remote method "apply".
            return (...callArgs: unknown[]) => {
              counter.objectCalls++;
              return Reflect.apply(member, stubTarget, callArgs);
            };
          },
        });
      };
    },
  });
}

/** The same bindings, with D1 and the workspace objects counted into `counter`. */
export function withIoCounting(env: Env, counter: IoCounter): Env {
  return {
    ...env,
    DB: countingD1(env.DB, () => counter.d1++),
    WORKSPACE_NUMBERS: countingNamespace(env.WORKSPACE_NUMBERS, counter),
  };
}

/**
 * Reports D1 round trips and Durable Object calls of the request, including the D1 round trips
 * the objects made, in an X-IO-Counts header.
 */
export const countIo = /* @__PURE__ */ appMiddleware(async (c, next) => {
  if (!ioCountersEnabled(c.env)) return next();
  const counter: IoCounter = { d1: 0, objectCalls: 0, objects: [] };
  c.env = withIoCounting(c.env, counter);
  await next();
  let d1 = counter.d1;
  for (const stub of counter.objects) {
    d1 += await (stub as DurableObjectStub<WorkspaceNumbers>).takeIoCount();
  }
  c.res.headers.set("X-IO-Counts", `d1=${d1}; do=${counter.objectCalls}`);
});
