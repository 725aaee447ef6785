-- Look-ups by a multi-valued attribute's value (emails.value eq …) find the user's id
-- in the index itself, without a visit to the user_values row.
DROP INDEX user_values_lookup;
CREATE INDEX user_values_lookup ON user_values (tenant_id, attribute, value_ci, user_id);
