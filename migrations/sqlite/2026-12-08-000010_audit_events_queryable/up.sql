-- Audit events say whether their actor is the Management Application, name the
-- request that caused them and the attributes an update changed (names only, a JSON
-- array). Older rows keep NULL for the request and the changes.
ALTER TABLE audit_events ADD COLUMN actor_management BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE audit_events ADD COLUMN request_id TEXT;
ALTER TABLE audit_events ADD COLUMN changed TEXT;
UPDATE audit_events SET actor_management = 1
 WHERE actor IN (SELECT id FROM applications WHERE is_management);

-- Pages are newest first by (occurred_at, id): each filter walks an index in that
-- order and stops after one page.
DROP INDEX audit_events_tenant_time;
DROP INDEX audit_events_resource;
CREATE INDEX audit_events_tenant_time ON audit_events (tenant_id, occurred_at, id);
CREATE INDEX audit_events_resource ON audit_events (tenant_id, resource_id, occurred_at, id);
CREATE INDEX audit_events_actor ON audit_events (tenant_id, actor, occurred_at, id);
CREATE INDEX audit_events_action ON audit_events (tenant_id, action, occurred_at, id);
