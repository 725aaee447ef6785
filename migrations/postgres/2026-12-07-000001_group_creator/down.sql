ALTER TABLE groups DROP COLUMN created_by_app;
