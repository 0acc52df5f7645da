"""The model against published measurements: one table of predictions, data, pulls and the
choices each comparison rests on (``upclens compare``)."""
