DROP INDEX api_tokens_tenant;
ALTER TABLE api_tokens DROP COLUMN last_used_at;
