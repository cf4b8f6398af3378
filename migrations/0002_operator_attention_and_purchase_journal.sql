-- Numbers an operator must look at, and a journal of every purchase the service sent to Twilio.

-- Why an operator must act on this number (a permanent refusal the saga will not retry, such as
-- a release Twilio refuses); NULL when there is nothing to do. Reconcile lists flagged numbers.
ALTER TABLE phone_numbers ADD COLUMN operator_attention TEXT;
CREATE INDEX phone_numbers_operator_attention
  ON phone_numbers(operator_attention) WHERE operator_attention IS NOT NULL;

-- One row per purchase claim, written with the claim (before Twilio is asked) and never
-- deleted, even when the claim is undone: the proof that a number on the master account was
-- bought by this service, which is what lets reconcile release an orphan. A number the journal
-- does not know (bought in Twilio's Console, ported, used by another system) is only reported.
CREATE TABLE purchase_journal (
  number_id TEXT PRIMARY KEY,               -- phone_<ULID> of the claim
  workspace_id TEXT NOT NULL REFERENCES workspaces(id),
  e164 TEXT NOT NULL,
  started_at TEXT NOT NULL                  -- when the claim was written
);
CREATE INDEX purchase_journal_e164 ON purchase_journal(e164);
