"""Parquet shards in the Hugging Face Hub's layout for audio: an ``audio`` column of struct {bytes, path} (the
``Audio`` feature, named in the schema's ``huggingface`` metadata so ``datasets`` decodes it), then the unit's own
fields and the sounds' metadata columns (a metadata column named like one of ours, as ``text`` or ``path``, is kept as
``metadata.<name>``).

Rows go out in row groups of at most ROW_GROUP_BYTES of audio (or the shard size, or ROW_GROUP_ROWS rows) and a shard closes once it
passes the shard size, so memory holds one row group whatever the export's size. Shards are
``parquet/shard-00000.parquet``, ``-00001``, ... in the split's folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from core.export.formats.sources import SoundAudio
from core.export.formats.target import Shards, Target, Written
from core.export.formats.units import Unit, segment_fields, unit_fields

ROW_GROUP_BYTES = 8 * 1024 * 1024  # what memory holds of a shard (twice: the rows, then their table)
ROW_GROUP_ROWS = 100  # as the Hub writes audio; pyarrow's writer holds 88 MB with groups of 500 short sounds, 65 MB with 100
_FEATURES = json.dumps({"info": {"features": {"audio": {"_type": "Audio"}}}}).encode()
_SEGMENT = pa.struct([("start_seconds", pa.float64()), ("end_seconds", pa.float64()), ("tags", pa.list_(pa.string())),
                      ("text", pa.string()), ("annotation_id", pa.string())])
_OWN = [("id", pa.string()), ("sound_id", pa.string()), ("dataset", pa.string()), ("path", pa.string()),
        ("start_seconds", pa.float64()), ("duration_seconds", pa.float64()), ("tags", pa.list_(pa.string())),
        ("text", pa.string()), ("speaker", pa.string()), ("annotation_id", pa.string()), ("sampling_rate", pa.int32())]


def column_names(metadata_columns: Iterable[str]) -> dict[str, str]:
    """Each metadata column's name in the table (ours win a clash: see the module's docstring)."""
    taken = {"audio", "segments", *(name for name, _ in _OWN)}
    return {c: f"metadata.{c}" if c in taken else c for c in metadata_columns}


def audio_path(unit: Unit) -> str:
    """``audio.path``: the sound's path in the export (``spk01/utt0.wav``, its dataset first when the subset spans
    several: unique, as the ZIP's audio/ names it), or a clip's ``clips/<id>.wav``; its extension tells ``datasets``
    the format. The file name alone repeats (every speaker's ``utt0.wav``)."""
    return unit.audio_path.removeprefix("audio/")


class ParquetWriter:
    def __init__(self, target: Target, folder: str, metadata_columns: Iterable[str], shard_bytes: int) -> None:
        self.target, self.folder, self.shard_bytes = target, folder, shard_bytes
        self.renamed = column_names(metadata_columns)
        fields = [pa.field("audio", pa.struct([("bytes", pa.binary()), ("path", pa.string())])), *_OWN,
                  ("segments", pa.list_(_SEGMENT)), *((name, pa.string()) for name in self.renamed.values())]
        self.schema = pa.schema(fields, metadata={b"huggingface": _FEATURES})
        self.rows: list[dict[str, Any]] = []
        self.buffered = 0
        self.shards = Shards(target, lambda n: f"{folder}shard-{n:05d}.parquet")
        self._writer: pq.ParquetWriter | None = None

    def add(self, units: list[Unit], audio: SoundAudio, metadata: dict[str, str]) -> None:
        for unit in units:
            data = audio.read(unit)
            row = unit_fields(unit) | {"audio": {"bytes": data, "path": audio_path(unit)},
                                       "sampling_rate": audio.info.rate, "segments": [segment_fields(a) for a in unit.segments]}
            row |= {self.renamed[k]: v for k, v in metadata.items() if k in self.renamed}
            self.rows.append(row)
            self.buffered += len(data)
            if self.buffered >= min(ROW_GROUP_BYTES, self.shard_bytes) or len(self.rows) >= ROW_GROUP_ROWS:
                self._flush()

    def _flush(self) -> None:
        if not self.rows:
            return
        if self._writer is None:  # ids and audio repeat nothing: no dictionaries
            self._writer = pq.ParquetWriter(self.shards.current(), self.schema, use_dictionary=False, compression="none")
        self._writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
        self.rows, self.buffered = [], 0
        if self.shards.full(self.shard_bytes):
            self._close_shard()

    def _close_shard(self) -> None:
        assert self._writer is not None
        self._writer.close()
        self._writer = None
        self.shards.close()

    def close(self) -> list[Written]:
        self._flush()
        if self._writer is not None:
            self._close_shard()
        return self.shards.written

    def abort(self) -> None:
        self.shards.abort()
