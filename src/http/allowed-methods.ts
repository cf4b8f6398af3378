import type { RouterRoute } from "hono/types";

type CompiledRoute = { pattern: RegExp; method: string; hasParameters: boolean };

/**
 * The methods the app serves on a path, for a 405's `Allow` header. Compiled once from the
 * app's own routes. A path that a route names literally (`/available`) is that route's alone:
 * the methods of a parameterized route that would also match it (`/:id`) are not offered, since
 * its parameter could never be valid there.
 */
export function allowedMethodsOf(routes: readonly RouterRoute[]) {
  let compiled: CompiledRoute[] | null = null;
  return (path: string): string[] => {
    compiled ??= routes
      .filter((r) => r.method !== "ALL" && !r.path.includes("*"))
      .map((r) => ({
        method: r.method,
        hasParameters: r.path.includes(":"),
        pattern: new RegExp(`^${r.path.replace(/:[^/]+/g, "[^/]+")}/?$`),
      }));
    const matching = compiled.filter((r) => r.pattern.test(path));
    const literal = matching.filter((r) => !r.hasParameters);
    return [...new Set((literal.length > 0 ? literal : matching).map((r) => r.method))];
  };
}
