export declare const STANDINS: { name: string; folder: string; devPort: number }[];
export declare function buildStandins(outdir: string): Promise<Record<string, string>>;
