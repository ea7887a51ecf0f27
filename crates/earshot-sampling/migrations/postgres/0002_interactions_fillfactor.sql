-- About one ingested interaction in five marks an earlier one as a repeat
-- contact. None of the columns that update touches is indexed, so with room
-- left on each page PostgreSQL rewrites the row in place (a HOT update)
-- instead of moving it and adding an entry to all four indexes.
ALTER TABLE interactions SET (fillfactor = 80);
