DROP INDEX users_external_id_trgm;
DROP INDEX users_family_name_trgm;
DROP INDEX users_given_name_trgm;
DROP INDEX users_name_formatted_trgm;
