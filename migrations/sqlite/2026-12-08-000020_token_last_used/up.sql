-- When each token was last used (written at most once a minute per token), and an
-- index for listing a tenant's tokens page by page.
ALTER TABLE api_tokens ADD COLUMN last_used_at TIMESTAMP;
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, id);
