-- Reporting's own tables: facts per interaction, rollup cells, tenant
-- context and settings, and one cursor per followed change feed.

-- One row per followed feed. `seq` is the last sequence applied; it moves
-- only in the transaction that applies the events (compare-and-set).
CREATE TABLE feed_cursors (
    source TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    head INTEGER NOT NULL DEFAULT 0,
    last_occurred_at INTEGER NOT NULL DEFAULT 0,
    last_applied_at INTEGER NOT NULL DEFAULT 0
);
INSERT INTO feed_cursors (source, seq) VALUES ('sampling', 0), ('scoring', 0), ('calibration', 0);

-- The tenant's time zone, as sampling's feed last announced it.
CREATE TABLE tenant_context (
    tenant_id TEXT PRIMARY KEY,
    time_zone TEXT NOT NULL
);

-- The tenant's reporting settings (encoded Settings), their etag, and the
-- service-level thresholds rollups are computed with (JSON).
CREATE TABLE settings (
    tenant_id TEXT PRIMARY KEY,
    etag TEXT NOT NULL,
    service_level TEXT NOT NULL,
    body BLOB NOT NULL
);

-- Everything known about one interaction (JSON InteractionRecord) and the
-- rollup context its contribution was computed in: the unit of change.
CREATE TABLE records (
    tenant_id TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    body TEXT NOT NULL,
    context TEXT NOT NULL,
    PRIMARY KEY (tenant_id, interaction_id)
);

-- Rollup cells: family 0 interaction, 1 quality, 2 question; grain 0 day,
-- 1 month; day = days since 1970-01-01 of the grain's first day; cell_key
-- the key's dimension tuple; body the encoded counters.
CREATE TABLE cells (
    tenant_id TEXT NOT NULL,
    family SMALLINT NOT NULL,
    grain SMALLINT NOT NULL,
    day INTEGER NOT NULL,
    cell_key TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (tenant_id, family, grain, day, cell_key)
);
