import { buildStandins } from "../standins/build.mjs";

// Runs in Node before the pool starts: auxiliary Workers are given to Miniflare as built
// JavaScript, so the stand-ins are bundled here from their TypeScript sources.
export default async function buildStandinsForTests() {
  await buildStandins(".standin-build");
}
