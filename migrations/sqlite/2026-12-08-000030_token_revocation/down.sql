ALTER TABLE api_tokens DROP COLUMN revoked_at;
