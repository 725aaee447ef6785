DROP INDEX user_values_lookup;
CREATE INDEX user_values_lookup ON user_values (tenant_id, attribute, value_ci);
