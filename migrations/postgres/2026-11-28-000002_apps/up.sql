-- Per-application data on users: one row per assignment, and linked social accounts.

CREATE TABLE user_apps (
    user_id              TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id               TEXT COLLATE "C" NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    tenant_id            TEXT COLLATE "C" NOT NULL,
    external_account_id  TEXT COLLATE "C",
    custom_app_data      TEXT COLLATE "C",
    consents             TEXT COLLATE "C",
    assigned_at          TIMESTAMP NOT NULL,
    last_sign_in         TIMESTAMP,
    PRIMARY KEY (user_id, app_id)
);
CREATE INDEX user_apps_app ON user_apps (app_id, user_id);

CREATE TABLE social_accounts (
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id  TEXT COLLATE "C" NOT NULL,
    provider   TEXT COLLATE "C" NOT NULL,
    subject    TEXT COLLATE "C" NOT NULL,
    email      TEXT COLLATE "C",
    linked_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, provider, subject)
);
CREATE INDEX social_accounts_user ON social_accounts (user_id);
