-- Workspaces, their API keys and agents, and every phone number they hold.

CREATE TABLE workspaces (
  id TEXT PRIMARY KEY,                      -- ws_<ULID>
  name TEXT NOT NULL,
  purchased_number_limit INTEGER,           -- NULL: the deployment's DEFAULT_PURCHASED_LIMIT
  trunk_id TEXT,                            -- the workspace's shared outbound SIP trunk
  created_at TEXT NOT NULL
);

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,                      -- key_<ULID>
  workspace_id TEXT NOT NULL REFERENCES workspaces(id),
  key_hash TEXT NOT NULL UNIQUE,            -- SHA-256 hex of the secret; the secret is never stored
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE INDEX api_keys_workspace ON api_keys(workspace_id);

CREATE TABLE agents (
  id TEXT PRIMARY KEY,                      -- agent_<ULID>
  workspace_id TEXT NOT NULL REFERENCES workspaces(id),
  name TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX agents_workspace ON agents(workspace_id, id);

CREATE TABLE phone_numbers (
  id TEXT PRIMARY KEY,                      -- phone_<ULID>
  workspace_id TEXT NOT NULL REFERENCES workspaces(id),
  e164 TEXT NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('livekit', 'twilio', 'byoc', 'twilio_purchased', 'verified_caller_id')),
  capabilities TEXT NOT NULL,               -- JSON array of 'inbound' / 'outbound'
  label TEXT,
  trunk_id TEXT,
  agent_id TEXT REFERENCES agents(id),
  livekit_phone_number_id TEXT,
  twilio_sid TEXT,                          -- IncomingPhoneNumber SID on the master account
  -- purchasing: claimed before Twilio is asked (counts against the caps, not shown);
  -- active: held and shown; released: gone, kept for reconciliation.
  status TEXT NOT NULL CHECK (status IN ('purchasing', 'active', 'released')),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  released_at TEXT
);
CREATE INDEX phone_numbers_workspace_active
  ON phone_numbers(workspace_id, created_at DESC, id DESC) WHERE status = 'active';
CREATE INDEX phone_numbers_workspace_held
  ON phone_numbers(workspace_id, source) WHERE status != 'released';
-- A number is claimed or held by at most one workspace at a time: a second workspace's
-- claim on the same number fails here before anyone asks Twilio.
CREATE UNIQUE INDEX phone_numbers_e164_held ON phone_numbers(e164) WHERE status != 'released';
CREATE INDEX phone_numbers_twilio_sid ON phone_numbers(twilio_sid);
