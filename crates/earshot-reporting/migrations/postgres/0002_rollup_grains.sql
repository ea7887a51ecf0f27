-- The grains whose cells are complete for the whole stored history. Day and
-- month cells exist since 0001; a grain added later (3, the month-aligned
-- ten-day) is built from the day cells when the service starts
-- (store::build_grains), in the transaction that lists it here.
CREATE TABLE rollup_grains (
    grain SMALLINT PRIMARY KEY
);
INSERT INTO rollup_grains (grain) VALUES (0), (1);
