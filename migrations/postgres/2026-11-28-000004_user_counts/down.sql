ALTER TABLE tenants DROP COLUMN user_count;
