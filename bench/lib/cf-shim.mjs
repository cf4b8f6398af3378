// Stands in for the `cloudflare:workers` module when a Worker bundle is evaluated in Node
// (bench/lib/eval.mjs): only the names a module may import at the top level, doing nothing.
export class DurableObject {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}
export class WorkerEntrypoint {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}
export class WorkflowEntrypoint {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}
export class RpcTarget {}
export const env = {};
export function waitUntil() {}
