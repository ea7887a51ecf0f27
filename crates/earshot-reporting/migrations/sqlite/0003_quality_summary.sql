-- The cell families complete for the whole stored history: interaction (0),
-- quality (1) and question (2) since 0001. A family added later (3, the
-- quality cells merged over evaluators) is built from the stored cells when
-- the service starts (store::build_grains), in the transaction that lists
-- it here.
CREATE TABLE rollup_families (
    family SMALLINT PRIMARY KEY
);
INSERT INTO rollup_families (family) VALUES (0), (1), (2);
