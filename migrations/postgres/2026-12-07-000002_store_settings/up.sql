-- Facts about the stored data that Roster checks at start-up, such as which version of
-- its case fold wrote the *_ci look-up columns (see src/store/refold.rs).
CREATE TABLE store_settings (
    name   TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    value  TEXT COLLATE "C" NOT NULL
);
