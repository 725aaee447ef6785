-- Substring filters (co, sw, ew) on the attributes people search by are answered from
-- pg_trgm indexes: userName, displayName and every multi-valued value had one; these
-- are the others.
CREATE INDEX users_name_formatted_trgm ON users USING gin (name_formatted_ci public.gin_trgm_ops);
CREATE INDEX users_given_name_trgm ON users USING gin (given_name_ci public.gin_trgm_ops);
CREATE INDEX users_family_name_trgm ON users USING gin (family_name_ci public.gin_trgm_ops);
CREATE INDEX users_external_id_trgm ON users USING gin (external_id public.gin_trgm_ops);
