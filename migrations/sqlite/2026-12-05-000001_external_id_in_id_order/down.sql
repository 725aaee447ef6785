DROP INDEX users_tenant_external_id;
CREATE INDEX users_tenant_external_id ON users (tenant_id, external_id);
DROP INDEX groups_tenant_external_id;
CREATE INDEX groups_tenant_external_id ON groups (tenant_id, external_id);
