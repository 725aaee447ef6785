-- Groups, and their members as rows (users and groups of the same tenant), so that
-- one membership change touches one row however big the group is.

CREATE TABLE groups (
    id               TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    tenant_id        TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    attributes       TEXT COLLATE "C" NOT NULL,
    custom_data      TEXT COLLATE "C",
    display_name_ci  TEXT COLLATE "C" NOT NULL,
    external_id      TEXT COLLATE "C",
    created_at       TIMESTAMP NOT NULL,
    last_modified    TIMESTAMP NOT NULL,
    version          BIGINT NOT NULL
);
CREATE UNIQUE INDEX groups_tenant_display_name ON groups (tenant_id, display_name_ci);
CREATE INDEX groups_tenant_external_id ON groups (tenant_id, external_id);
CREATE INDEX groups_tenant_id ON groups (tenant_id, id);

CREATE TABLE group_members (
    group_id     TEXT COLLATE "C" NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id    TEXT COLLATE "C" NOT NULL,
    member_type  TEXT COLLATE "C" NOT NULL,
    tenant_id    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_member ON group_members (member_id, group_id);
