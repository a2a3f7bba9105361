-- TAP_SCHEMA (TAP 1.1 section 4), filled from schema/*.toml at every start (src/tap/tap_schema.rs).
-- The schema is named exactly TAP_SCHEMA: the ADQL translator prints names quoted, as given.
CREATE SCHEMA "TAP_SCHEMA";

CREATE TABLE "TAP_SCHEMA".schemas (
    schema_name  text PRIMARY KEY,
    utype        text,
    description  text,
    schema_index integer
);

CREATE TABLE "TAP_SCHEMA".tables (
    schema_name text NOT NULL,
    table_name  text PRIMARY KEY,
    table_type  text NOT NULL,
    description text,
    utype       text,
    table_index integer
);

CREATE TABLE "TAP_SCHEMA".columns (
    table_name   text NOT NULL,
    column_name  text NOT NULL,
    datatype     text NOT NULL,
    arraysize    text,
    xtype        text,
    "size"       integer,
    description  text,
    utype        text,
    unit         text,
    ucd          text,
    indexed      integer NOT NULL,
    principal    integer NOT NULL,
    std          integer NOT NULL,
    column_index integer,
    PRIMARY KEY (table_name, column_name)
);

CREATE TABLE "TAP_SCHEMA".keys (
    key_id       text PRIMARY KEY,
    from_table   text NOT NULL,
    target_table text NOT NULL,
    description  text,
    utype        text
);

CREATE TABLE "TAP_SCHEMA".key_columns (
    key_id        text NOT NULL,
    from_column   text NOT NULL,
    target_column text NOT NULL
);

GRANT USAGE ON SCHEMA "TAP_SCHEMA" TO obsportal_query;
GRANT SELECT ON ALL TABLES IN SCHEMA "TAP_SCHEMA" TO obsportal_query;
