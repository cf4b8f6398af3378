// `npm run openapi`: writes public/openapi.json (committed; a test fails when it is stale).
import { writeFileSync } from "node:fs";
import { buildOpenApiDocument } from "./document";

writeFileSync("public/openapi.json", `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
console.log("wrote public/openapi.json");
