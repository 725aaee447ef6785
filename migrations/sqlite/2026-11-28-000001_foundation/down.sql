DROP TABLE audit_events;
DROP TABLE user_values;
DROP TABLE users;
DROP TABLE api_tokens;
DROP TABLE applications;
DROP TABLE tenants;
