import { DurableObject } from "cloudflare:workers";
export class TwilioAccount extends DurableObject {}
export default { fetch: () => new Response("standin") };
