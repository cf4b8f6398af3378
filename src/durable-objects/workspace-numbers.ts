import { DurableObject } from "cloudflare:workers";
export class WorkspaceNumbers extends DurableObject<Env> {}
