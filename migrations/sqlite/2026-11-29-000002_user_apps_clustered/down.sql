CREATE TABLE user_apps_rowid (
    user_id              TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id               TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    tenant_id            TEXT NOT NULL,
    external_account_id  TEXT,
    custom_app_data      TEXT,
    consents             TEXT,
    assigned_at          TIMESTAMP NOT NULL,
    last_sign_in         TIMESTAMP,
    PRIMARY KEY (user_id, app_id)
);
INSERT INTO user_apps_rowid
    SELECT user_id, app_id, tenant_id, external_account_id, custom_app_data, consents,
           assigned_at, last_sign_in
    FROM user_apps;
DROP TABLE user_apps;
ALTER TABLE user_apps_rowid RENAME TO user_apps;
CREATE INDEX user_apps_app ON user_apps (app_id, user_id);
