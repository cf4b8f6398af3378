-- A workspace's own rate limits (issue 13), in place of the deployment's defaults; the burst
-- scales with the rate (src/rate-limits/policy.ts). Set with `admin workspaces update`.

ALTER TABLE workspaces ADD COLUMN search_rate_per_minute INTEGER CHECK (search_rate_per_minute > 0); -- searches a minute; NULL: SEARCH_RATE_PER_MINUTE
ALTER TABLE workspaces ADD COLUMN write_rate_per_minute INTEGER CHECK (write_rate_per_minute > 0);   -- purchases, changes and releases a minute; NULL: WRITE_RATE_PER_MINUTE
