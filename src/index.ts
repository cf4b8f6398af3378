import { Hono } from "hono";
export { WorkspaceNumbers } from "./durable-objects/workspace-numbers";
const app = new Hono<{ Bindings: Env }>();
app.get("/", (c) => c.text("ok"));
export default app;
