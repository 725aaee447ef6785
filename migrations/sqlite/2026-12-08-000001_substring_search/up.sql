-- Substring filters (co, sw, ew) on the attributes people search by are answered from
-- FTS5 trigram indexes (src/store/substring.rs). An index entry's rowid is its row's
-- search key: the tenant's search prefix in the high 23 bits, so that one tenant's
-- entries are one rowid range, and a number unique within the tenant below them.
-- Values are indexed as filters compare them (the *_ci columns are case-folded), so
-- the tokenizer keeps case.

ALTER TABLE tenants ADD COLUMN search_prefix INTEGER;
UPDATE tenants SET search_prefix = rowid;
CREATE UNIQUE INDEX tenants_search_prefix ON tenants (search_prefix);

ALTER TABLE users ADD COLUMN search_key INTEGER;
UPDATE users SET search_key =
    ((SELECT t.search_prefix FROM tenants t WHERE t.id = users.tenant_id) << 40) + users.rowid;
CREATE UNIQUE INDEX users_search_key ON users (search_key);

ALTER TABLE groups ADD COLUMN search_key INTEGER;
UPDATE groups SET search_key =
    ((SELECT t.search_prefix FROM tenants t WHERE t.id = groups.tenant_id) << 40) + groups.rowid;
CREATE UNIQUE INDEX groups_search_key ON groups (search_key);

CREATE VIRTUAL TABLE user_search USING fts5 (
    user_name, display_name, name_formatted, given_name, family_name, external_id, emails,
    content = '', contentless_delete = 1, tokenize = 'trigram case_sensitive 1'
);
INSERT INTO user_search (rowid, user_name, display_name, name_formatted, given_name,
                         family_name, external_id, emails)
SELECT r.search_key, r.user_name_ci, r.display_name_ci, r.name_formatted_ci, r.given_name_ci,
       r.family_name_ci, r.external_id,
       (SELECT group_concat(v.value_ci, char(10)) FROM user_values v
        WHERE v.user_id = r.id AND v.attribute = 'emails')
FROM users r;

CREATE VIRTUAL TABLE group_search USING fts5 (
    display_name,
    content = '', contentless_delete = 1, tokenize = 'trigram case_sensitive 1'
);
INSERT INTO group_search (rowid, display_name) SELECT search_key, display_name_ci FROM groups;
