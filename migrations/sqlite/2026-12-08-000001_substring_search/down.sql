DROP TABLE group_search;
DROP TABLE user_search;
DROP INDEX groups_search_key;
ALTER TABLE groups DROP COLUMN search_key;
DROP INDEX users_search_key;
ALTER TABLE users DROP COLUMN search_key;
DROP INDEX tenants_search_prefix;
ALTER TABLE tenants DROP COLUMN search_prefix;
