// `npm run livekit-schema`: writes standins/livekit/proto-schema.json from the vendored LiveKit
// protos (committed; test/standins/livekit-standin.test.ts fails when it is stale).
import { readFileSync, writeFileSync } from "node:fs";
import { parseProtoFiles } from "../standins/livekit/proto-parse";
import { PROTO_SOURCES } from "../standins/livekit/proto-sources";

const OUT = "standins/livekit/proto-schema.json";
const files = Object.fromEntries(PROTO_SOURCES.map((path) => [path, readFileSync(path, "utf8")]));
writeFileSync(OUT, `${JSON.stringify(parseProtoFiles(files), null, 2)}\n`);
console.log(`wrote ${OUT}`);
