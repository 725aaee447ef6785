-- Facts about the stored data that Roster checks at start-up, such as which version of
-- its case fold wrote the *_ci look-up columns (see src/store/refold.rs).
CREATE TABLE store_settings (
    name   TEXT PRIMARY KEY NOT NULL,
    value  TEXT NOT NULL
);
