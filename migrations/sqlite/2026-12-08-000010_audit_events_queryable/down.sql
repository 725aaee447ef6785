DROP INDEX audit_events_action;
DROP INDEX audit_events_actor;
DROP INDEX audit_events_resource;
DROP INDEX audit_events_tenant_time;
CREATE INDEX audit_events_tenant_time ON audit_events (tenant_id, occurred_at);
CREATE INDEX audit_events_resource ON audit_events (tenant_id, resource_id);
ALTER TABLE audit_events DROP COLUMN changed;
ALTER TABLE audit_events DROP COLUMN request_id;
ALTER TABLE audit_events DROP COLUMN actor_management;
