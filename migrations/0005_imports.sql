-- Imports (POST /v1/agents/phone-numbers): trunks on customers' own Twilio accounts, and the
-- secrets of those accounts, encrypted (src/crypto/credentials.ts).

-- trunks.kind gains 'twilio': the Elastic SIP trunk the service creates on a customer's Twilio
-- account, one per (workspace, account), which that account's imported numbers ride. SQLite
-- cannot change a CHECK, so the table is rebuilt (no foreign key names it).
CREATE TABLE trunks_0005 (
  id TEXT PRIMARY KEY,                      -- trunk_<ULID>
  workspace_id TEXT NOT NULL REFERENCES workspaces(id),
  -- platform: the workspace's shared outbound trunk through the master Twilio trunk;
  -- byoc: a customer's SIP trunk (created by an operator); twilio: our trunk on a customer's
  -- Twilio account (created by the service on the account's first import).
  kind TEXT NOT NULL CHECK (kind IN ('platform', 'byoc', 'twilio')),
  address TEXT NOT NULL,                    -- where LiveKit sends outbound calls (a host)
  livekit_outbound_trunk_id TEXT,           -- ST_... once LiveKit has the trunk
  created_at TEXT NOT NULL,
  twilio_account_sid TEXT,                  -- kind twilio: the customer's account (AC...)
  -- The trunk's secrets, sealed with AES-256-GCM (the trunk id as additional data):
  -- kind twilio: JSON {auth_token, sip_password}; kind byoc: JSON {sip_password} or NULL.
  -- `v<key version>.<iv>.<ciphertext>`: the key's version is beside the ciphertext.
  sealed_credentials TEXT,
  sip_username TEXT                         -- the username LiveKit's outbound trunk sends
);
INSERT INTO trunks_0005 (id, workspace_id, kind, address, livekit_outbound_trunk_id, created_at)
  SELECT id, workspace_id, kind, address, livekit_outbound_trunk_id, created_at FROM trunks;
DROP TABLE trunks;
ALTER TABLE trunks_0005 RENAME TO trunks;
CREATE INDEX trunks_workspace ON trunks(workspace_id);
CREATE UNIQUE INDEX trunks_platform ON trunks(workspace_id) WHERE kind = 'platform';
-- One trunk per (workspace, customer Twilio account).
CREATE UNIQUE INDEX trunks_twilio_account ON trunks(workspace_id, twilio_account_sid)
  WHERE kind = 'twilio';

-- Imported numbers: the customer's IncomingPhoneNumber (or OutgoingCallerId) SID lives in
-- twilio_sid as for purchased numbers; the account is the trunk's.
