-- Tenants, applications, tokens, users and the audit log.
-- PostgreSQL: every text column uses the byte-order "C" collation, so sorting matches SQLite.
-- Text columns named *_ci hold values already case-folded by Roster, so that
-- case-insensitive look-ups and sorting are plain comparisons on an index.

CREATE TABLE tenants (
    id          TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name        TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE applications (
    id                      TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    tenant_id               TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                    TEXT COLLATE "C" NOT NULL,
    client_id               TEXT COLLATE "C" NOT NULL UNIQUE,
    client_secret_hash      TEXT COLLATE "C" NOT NULL,
    is_management           BOOLEAN NOT NULL,
    allow_signup_on_signin  BOOLEAN NOT NULL,
    created_at              TIMESTAMP NOT NULL
);
CREATE INDEX applications_tenant ON applications (tenant_id);
CREATE UNIQUE INDEX applications_one_management ON applications (tenant_id) WHERE is_management;

CREATE TABLE api_tokens (
    id          TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    app_id      TEXT COLLATE "C" NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    token_hash  TEXT COLLATE "C" NOT NULL UNIQUE,
    kind        TEXT COLLATE "C" NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP
);
CREATE INDEX api_tokens_app ON api_tokens (app_id);

CREATE TABLE users (
    id                   TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    tenant_id            TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    attributes           TEXT COLLATE "C" NOT NULL,
    password_hash        TEXT COLLATE "C",
    status               TEXT COLLATE "C" NOT NULL,
    custom_data          TEXT COLLATE "C",
    birthday             DATE,
    last_sign_in         TIMESTAMP,
    created_at           TIMESTAMP NOT NULL,
    last_modified        TIMESTAMP NOT NULL,
    version              BIGINT NOT NULL,
    user_name_ci         TEXT COLLATE "C" NOT NULL,
    external_id          TEXT COLLATE "C",
    active               BOOLEAN NOT NULL,
    display_name_ci      TEXT COLLATE "C",
    nick_name_ci         TEXT COLLATE "C",
    profile_url_ci       TEXT COLLATE "C",
    title_ci             TEXT COLLATE "C",
    user_type_ci         TEXT COLLATE "C",
    preferred_language_ci TEXT COLLATE "C",
    locale_ci            TEXT COLLATE "C",
    timezone_ci          TEXT COLLATE "C",
    name_formatted_ci    TEXT COLLATE "C",
    family_name_ci       TEXT COLLATE "C",
    given_name_ci        TEXT COLLATE "C",
    middle_name_ci       TEXT COLLATE "C",
    honorific_prefix_ci  TEXT COLLATE "C",
    honorific_suffix_ci  TEXT COLLATE "C",
    employee_number_ci   TEXT COLLATE "C",
    cost_center_ci       TEXT COLLATE "C",
    organization_ci      TEXT COLLATE "C",
    division_ci          TEXT COLLATE "C",
    department_ci        TEXT COLLATE "C",
    manager_value_ci     TEXT COLLATE "C",
    manager_display_name_ci TEXT COLLATE "C"
);
CREATE UNIQUE INDEX users_tenant_user_name ON users (tenant_id, user_name_ci);
CREATE INDEX users_tenant_external_id ON users (tenant_id, external_id);
CREATE INDEX users_tenant_last_modified ON users (tenant_id, last_modified);
CREATE INDEX users_tenant_id ON users (tenant_id, id);

-- One row per value of a multi-valued attribute (emails, phoneNumbers, …).
CREATE TABLE user_values (
    user_id         TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id       TEXT COLLATE "C" NOT NULL,
    attribute       TEXT COLLATE "C" NOT NULL,
    position        INTEGER NOT NULL,
    value_ci        TEXT COLLATE "C",
    value_exact     TEXT COLLATE "C",
    display_ci      TEXT COLLATE "C",
    type_ci         TEXT COLLATE "C",
    is_primary      BOOLEAN NOT NULL,
    formatted_ci    TEXT COLLATE "C",
    street_address_ci TEXT COLLATE "C",
    locality_ci     TEXT COLLATE "C",
    region_ci       TEXT COLLATE "C",
    postal_code_ci  TEXT COLLATE "C",
    country_ci      TEXT COLLATE "C",
    PRIMARY KEY (user_id, attribute, position)
);
CREATE INDEX user_values_lookup ON user_values (tenant_id, attribute, value_ci);

-- Append-only: rows name resources by id without foreign keys, so they outlive them.
CREATE TABLE audit_events (
    id             TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    tenant_id      TEXT COLLATE "C" NOT NULL,
    occurred_at    TIMESTAMP NOT NULL,
    actor          TEXT COLLATE "C" NOT NULL,
    action         TEXT COLLATE "C" NOT NULL,
    resource_type  TEXT COLLATE "C" NOT NULL,
    resource_id    TEXT COLLATE "C" NOT NULL,
    detail         TEXT COLLATE "C"
);
CREATE INDEX audit_events_tenant_time ON audit_events (tenant_id, occurred_at);
CREATE INDEX audit_events_resource ON audit_events (tenant_id, resource_id);
