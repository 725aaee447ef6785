-- A look-up by externalId returns its matches in id order: with the id in the index,
-- the index gives that order, and the look-up needs no sort of its own.
DROP INDEX users_tenant_external_id;
CREATE INDEX users_tenant_external_id ON users (tenant_id, external_id, id);
DROP INDEX groups_tenant_external_id;
CREATE INDEX groups_tenant_external_id ON groups (tenant_id, external_id, id);
