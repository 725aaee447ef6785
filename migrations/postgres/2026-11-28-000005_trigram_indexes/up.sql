-- Trigram indexes answer `co` and `ew` filters (LIKE '%…%', LIKE '%…') on userName,
-- displayName and the multi-valued rows (emails among them) without a sequential
-- scan. The extension lives in `public`, so that every schema's tables can use it.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE INDEX users_user_name_trgm ON users USING gin (user_name_ci public.gin_trgm_ops);
CREATE INDEX users_display_name_trgm ON users USING gin (display_name_ci public.gin_trgm_ops);
CREATE INDEX user_values_value_trgm ON user_values USING gin (value_ci public.gin_trgm_ops);
CREATE INDEX groups_display_name_trgm ON groups USING gin (display_name_ci public.gin_trgm_ops);
