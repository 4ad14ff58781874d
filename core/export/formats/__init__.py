"""Training-ready exports: a subset (or each split of one) written as the files speech and audio toolkits read,
streamed to a local folder or an S3 prefix.

Owns: the format writers, one module each (Parquet shards in the Hugging Face ``Audio`` layout, WebDataset tar
shards, NeMo manifests, Lhotse manifests, a Kaldi data folder, ELAN ``.eaf``), the units they write (whole sounds,
segments as offsets, or segments cut into clips: :mod:`.units`), the targets they write to (:mod:`.target`) and
the run that feeds every writer from one pass over the audio (:mod:`.run`). The ZIP and its annotation formats stay
in core/export/subset.py; splits in core/export/splits.py.

May import: core.store, core.errors, core.annotations, core.catalogue and core.export (subset, outline, splits, sampling).
Nothing in core outside the shells (pages, api, cli, commands) imports it.

The one entry point for the shells is :func:`export_formats` (with :func:`parse_formats`, :func:`check_target`
and :class:`FormatOptions` to check what a person asked for first).
"""

from core.export.formats.options import TRAINING_FORMATS, FormatOptions, Segments, parse_formats
from core.export.formats.run import export_formats
from core.export.formats.target import check_target

__all__ = ["TRAINING_FORMATS", "FormatOptions", "Segments", "check_target", "export_formats", "parse_formats"]
