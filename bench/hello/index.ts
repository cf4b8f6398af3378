// The benchmark's baseline: the smallest Hono Worker, so the API's numbers can be read
// against what Hono on workerd costs with no application code at all.
import { Hono } from "hono";

const app = new Hono();

app.get("/", (c) => c.text("hello"));

export default app;
