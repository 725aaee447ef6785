-- Tenants, applications, tokens, users and the audit log.
-- Text columns named *_ci hold values already case-folded by Roster, so that
-- case-insensitive look-ups and sorting are plain comparisons on an index.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE applications (
    id                      TEXT PRIMARY KEY NOT NULL,
    tenant_id               TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                    TEXT NOT NULL,
    client_id               TEXT NOT NULL UNIQUE,
    client_secret_hash      TEXT NOT NULL,
    is_management           BOOLEAN NOT NULL,
    allow_signup_on_signin  BOOLEAN NOT NULL,
    created_at              TIMESTAMP NOT NULL
);
CREATE INDEX applications_tenant ON applications (tenant_id);
CREATE UNIQUE INDEX applications_one_management ON applications (tenant_id) WHERE is_management;

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    app_id      TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP
);
CREATE INDEX api_tokens_app ON api_tokens (app_id);

CREATE TABLE users (
    id                   TEXT PRIMARY KEY NOT NULL,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    attributes           TEXT NOT NULL,
    password_hash        TEXT,
    status               TEXT NOT NULL,
    custom_data          TEXT,
    birthday             DATE,
    last_sign_in         TIMESTAMP,
    created_at           TIMESTAMP NOT NULL,
    last_modified        TIMESTAMP NOT NULL,
    version              BIGINT NOT NULL,
    user_name_ci         TEXT NOT NULL,
    external_id          TEXT,
    active               BOOLEAN NOT NULL,
    display_name_ci      TEXT,
    nick_name_ci         TEXT,
    profile_url_ci       TEXT,
    title_ci             TEXT,
    user_type_ci         TEXT,
    preferred_language_ci TEXT,
    locale_ci            TEXT,
    timezone_ci          TEXT,
    name_formatted_ci    TEXT,
    family_name_ci       TEXT,
    given_name_ci        TEXT,
    middle_name_ci       TEXT,
    honorific_prefix_ci  TEXT,
    honorific_suffix_ci  TEXT,
    employee_number_ci   TEXT,
    cost_center_ci       TEXT,
    organization_ci      TEXT,
    division_ci          TEXT,
    department_ci        TEXT,
    manager_value_ci     TEXT,
    manager_display_name_ci TEXT
);
CREATE UNIQUE INDEX users_tenant_user_name ON users (tenant_id, user_name_ci);
CREATE INDEX users_tenant_external_id ON users (tenant_id, external_id);
CREATE INDEX users_tenant_last_modified ON users (tenant_id, last_modified);
CREATE INDEX users_tenant_id ON users (tenant_id, id);

-- One row per value of a multi-valued attribute (emails, phoneNumbers, …).
CREATE TABLE user_values (
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id       TEXT NOT NULL,
    attribute       TEXT NOT NULL,
    position        INTEGER NOT NULL,
    value_ci        TEXT,
    value_exact     TEXT,
    display_ci      TEXT,
    type_ci         TEXT,
    is_primary      BOOLEAN NOT NULL,
    formatted_ci    TEXT,
    street_address_ci TEXT,
    locality_ci     TEXT,
    region_ci       TEXT,
    postal_code_ci  TEXT,
    country_ci      TEXT,
    PRIMARY KEY (user_id, attribute, position)
);
CREATE INDEX user_values_lookup ON user_values (tenant_id, attribute, value_ci);

-- Append-only: rows name resources by id without foreign keys, so they outlive them.
CREATE TABLE audit_events (
    id             TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL,
    occurred_at    TIMESTAMP NOT NULL,
    actor          TEXT NOT NULL,
    action         TEXT NOT NULL,
    resource_type  TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    detail         TEXT
);
CREATE INDEX audit_events_tenant_time ON audit_events (tenant_id, occurred_at);
CREATE INDEX audit_events_resource ON audit_events (tenant_id, resource_id);
