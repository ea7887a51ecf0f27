-- The grains whose cells are complete for the whole stored history. Day and
-- month cells exist since 0001; a grain added later (3, the month-aligned
-- ten-day) is built from the day cells when the service starts
-- (store::build_grains), in the transaction that lists it here.
CREATE TABLE rollup_grains (
    grain SMALLINT PRIMARY KEY
);
INSERT INTO rollup_grains (grain) VALUES (0), (1);

-- Cells clustered by their key: a report reads every cell of a date range,
-- which in a rowid table costs one index probe and one table probe per row.
CREATE TABLE cells_by_key (
    tenant_id TEXT NOT NULL,
    family SMALLINT NOT NULL,
    grain SMALLINT NOT NULL,
    day INTEGER NOT NULL,
    cell_key TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (tenant_id, family, grain, day, cell_key)
) WITHOUT ROWID;
INSERT INTO cells_by_key SELECT tenant_id, family, grain, day, cell_key, body FROM cells;
DROP TABLE cells;
ALTER TABLE cells_by_key RENAME TO cells;
