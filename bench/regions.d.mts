// Types of bench/regions.mjs, for the tests (test/bench/latency-model.test.ts).
export type Region = "us-east" | "us-west" | "eu-west" | "ap-southeast";
export type RttPair = { a: string; b: string; ms: number; source: string };

export declare const CLIENT_REGIONS: Region[];
export declare const REGIONS: Record<Region, { city: string; azure: string }>;
export declare const HINT_REGIONS: Record<string, Region>;
export declare const PLACES: { d1PrimaryHint: string; twilio: string; livekit: string | null };
export declare const RTT_PAIRS: RttPair[];
export declare const SOURCES: Record<string, string>;
export declare function rttTable(pairs?: RttPair[]): Record<string, Record<string, number>>;
