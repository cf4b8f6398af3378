// Types of bench/lib/latency-model.mjs, for the tests (test/bench/latency-model.test.ts).
import type { RttPair } from "../regions.mjs";

export declare const READ_LIMIT_MS: number;
export declare const READ_ROUTES: string[];
export declare const PURCHASE_CROSS_REGION_LIMIT: number;

export type Trip = {
  side: "worker" | "object";
  kind: "d1" | "do" | "twilio" | "livekit";
  d1: "primary" | "replica" | null;
  hint: string | null;
  overlapped: boolean;
};

export type Places = {
  d1PrimaryHint: string;
  primary: string;
  twilio: string;
  livekit: string;
  rtt: Record<string, Record<string, number>>;
};

export type Modeled = {
  modeled_ms: number;
  cross_region_trips: number;
  cross_region_trips_before_twilio: number | null;
  overlapped_trips: number;
  object_region: string | null;
  legs: string;
};

export type RouteFigures = Partial<Modeled> & { modeled_ms: number | null };
export type ByRegion = Record<
  string,
  Record<string, RouteFigures & { saved_vs_single_ms?: number }>
>;
export type Budget = { limit: string; value: number | null; pass: boolean; missed?: string[] };

export declare function parseTrip(token: string): Trip;
export declare function parseTrace(text: string): Trip[];
export declare function hintRegion(hint: string): string;
export declare function topology(options?: {
  d1PrimaryHint?: string;
  twilio?: string;
  livekit?: string | null;
  pairs?: RttPair[];
}): Places;
export declare function modelRequest(
  trips: Trip[],
  client: string,
  deployment: "ours" | "single",
  places: Places,
): Modeled;
export declare function modelRoutes(
  traces: Record<string, string | null>,
  places: Places,
  clients?: string[],
): { regions: ByRegion; regions_single: ByRegion };
export declare function farthestRegion(places: Places, clients?: string[]): string;
export declare function modelBudgets(
  model: { regions: ByRegion },
  places: Places,
  clients?: string[],
): { read_beyond_client_ms: Budget; purchase_cross_region_before_twilio: Budget };
export declare function regionsTable(
  model: {
    regions: ByRegion;
    regions_single: ByRegion;
    regions_budgets: { read_beyond_client_ms: Budget; purchase_cross_region_before_twilio: Budget };
  },
  places: Places,
  clients: string[],
): string;
