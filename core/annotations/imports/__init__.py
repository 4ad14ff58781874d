"""Annotations made elsewhere, brought in: one reader per format, each turning a file into :class:`rows.ParsedRow`
values and :class:`rows.RowProblem` sentences (file, line, reason) without touching the database; then
:mod:`.matching` finds each row's sound in a dataset and :mod:`.service` writes them, as the importing person's
annotations or as a featurebot's suggestions.

Owns: the readers (rttm, textgrid, audacity, eaf, table for CSV, labelstudio, nemo, kaldi), the choice among them
(:mod:`.detect`), matching rows to sounds and the import itself. A row that cannot be read or placed is named and
left out while the rest of its file goes in; a file that is not its format at all refuses the whole import, with
nothing written. Writers of the same formats are in core/export/ (subset.py, formats/), and the round trips between
the two are tests/test_annotation_round_trips.py.

May import: core.store, core.accounts, core.catalogue, core.annotations and core.errors.
"""
