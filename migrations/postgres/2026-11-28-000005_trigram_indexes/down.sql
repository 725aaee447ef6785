DROP INDEX groups_display_name_trgm;
DROP INDEX user_values_value_trgm;
DROP INDEX users_display_name_trgm;
DROP INDEX users_user_name_trgm;
