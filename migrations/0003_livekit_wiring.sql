-- LiveKit: agents' names, the SIP trunks numbers ride, and the LiveKit resources of each number.

-- The name the agent's LiveKit worker registers with (room_config.agents[].agent_name of the
-- dispatch rules that send calls to it); NULL: the agent's id.
ALTER TABLE agents ADD COLUMN agent_name TEXT;

-- The SIP trunks a workspace's numbers ride for outbound calls: the `trunk_id` of its numbers.
CREATE TABLE trunks (
  id TEXT PRIMARY KEY,                      -- trunk_<ULID>
  workspace_id TEXT NOT NULL REFERENCES workspaces(id),
  -- platform: the workspace's shared outbound trunk through the master Twilio trunk, created
  -- by the service when the workspace first needs it; byoc: a customer's SIP trunk (operator).
  kind TEXT NOT NULL CHECK (kind IN ('platform', 'byoc')),
  address TEXT NOT NULL,                    -- where LiveKit sends outbound calls
  livekit_outbound_trunk_id TEXT,           -- ST_... once LiveKit has the trunk
  created_at TEXT NOT NULL
);
CREATE INDEX trunks_workspace ON trunks(workspace_id);
-- One platform trunk per workspace.
CREATE UNIQUE INDEX trunks_platform ON trunks(workspace_id) WHERE kind = 'platform';

-- Where LiveKit accepts calls to the number: its own inbound trunk (one per number, so that the
-- dispatch rule keyed to that trunk matches this number alone). NULL: not wired to LiveKit.
ALTER TABLE phone_numbers ADD COLUMN livekit_inbound_trunk_id TEXT;

-- workspaces.trunk_id (0001) is no longer written or read: numbers take the id of their
-- workspace's platform trunk above.
