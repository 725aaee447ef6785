-- A revoked long-lived token keeps its row, so that a later use of it is recognised
-- as the tenant's and recorded (auth.failed) rather than read as an unknown token.
ALTER TABLE api_tokens ADD COLUMN revoked_at TIMESTAMP;
