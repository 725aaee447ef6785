-- Each tenant's number of users, kept in the same transactions that add and remove
-- users, so an unfiltered list answers totalResults without counting rows.
ALTER TABLE tenants ADD COLUMN user_count BIGINT NOT NULL DEFAULT 0;
UPDATE tenants SET user_count = (SELECT COUNT(*) FROM users WHERE users.tenant_id = tenants.id);
