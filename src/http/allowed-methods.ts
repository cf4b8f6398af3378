import type { RouterRoute } from "hono/types";

type CompiledRoute = { pattern: RegExp; method: string };

/**
 * The methods the app serves on a path, for a 405's `Allow` header. Compiled once from the
 * app's own routes (hono's methodNotAllowed middleware would add a second router to the bundle).
 */
export function allowedMethodsOf(routes: readonly RouterRoute[]) {
  let compiled: CompiledRoute[] | null = null;
  return (path: string): string[] => {
    compiled ??= routes
      .filter((r) => r.method !== "ALL" && !r.path.includes("*"))
      .map((r) => ({
        method: r.method,
        pattern: new RegExp(`^${r.path.replace(/:[^/]+/g, "[^/]+")}/?$`),
      }));
    return [...new Set(compiled.filter((r) => r.pattern.test(path)).map((r) => r.method))];
  };
}
