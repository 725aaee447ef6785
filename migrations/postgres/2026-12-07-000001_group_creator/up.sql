-- The application that created a group; NULL for the Management Application (and
-- for groups created before this column existed). Other applications may change a
-- group's attributes, or delete it, only when they created it.
ALTER TABLE groups ADD COLUMN created_by_app TEXT COLLATE "C";
