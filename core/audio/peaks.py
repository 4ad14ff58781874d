"""Waveform peaks: a min/max pyramid computed once per sound, and windows read from it.

Like BBC audiowaveform: for blocks of 256, 1,024, 4,096, 16,384 and 65,536 samples, the min and max of each
channel, as int16. One hour of 16 kHz mono is 57.6 M samples; its pyramid is 1.2 MB. A view of any length is
drawn from the finest level that fits in the point budget, read with one ranged read of the stored pyramid;
a view short enough is drawn from the real samples, read by seeking into the audio. Nothing ever reads the
whole file to draw a window, so memory does not grow with the length of the sound.

Stored as ``derived/<sound id>/peaks.bin``: ``EMPK1\\n``, a 4-byte header length, a JSON header, then each
level as an int16 array of shape (blocks, channels, 2).
"""

from __future__ import annotations

import io
import itertools
import json
import math
import struct
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

import numpy as np
import soundfile as sf

from core.audio import decode
from core.errors import ValidationError
from core.store.storage import Storage

MAGIC = b"EMPK1\n"
BLOCKS = (256, 1024, 4096, 16384, 65536)
MAX_POINTS = 5000  # plotted points per view: 2,500 min/max pairs
READ_FRAMES = decode.READ_SAMPLES  # frames per read of a mono file (fewer with more channels: decode.frames_per_read)
SAMPLES_FOR_PEAKS = (MAX_POINTS // 2) * 64  # up to here, a view buckets real samples (finer than 256)


def peaks_key(sound_id: str) -> str:
    return f"derived/{sound_id}/peaks.bin"


def needs_pyramid(frames: int) -> bool:
    """Whether a sound is long enough for a pyramid: every view of a shorter one (a clip of up to 10 s at 16 kHz)
    is drawn from its samples, so none is made for it (an import of short clips writes one object per file)."""
    return frames > SAMPLES_FOR_PEAKS


@dataclass(frozen=True)
class Level:
    block: int
    count: int
    offset: int  # byte offset of this level's array in the object


@dataclass(frozen=True)
class Header:
    sample_rate: int
    channels: int
    frames: int
    levels: tuple[Level, ...]


class Pyramid:
    """The finest level built block by block as the samples go by (one pass: see :func:`compute`), then packed
    with the coarser levels merged from it."""

    def __init__(self) -> None:
        self.finest: list[np.ndarray] = []

    def add(self, block: np.ndarray) -> None:
        """Take the min/max of ``block`` (frames, channels): a whole number of BLOCKS[0] but for the last one."""
        self.finest.append(_min_max(block, BLOCKS[0]))

    def pack(self, sample_rate: int, channels: int, frames: int) -> bytes:
        levels = [np.concatenate(self.finest) if self.finest else np.zeros((0, channels, 2), np.int16)]
        for finer, block in itertools.pairwise(BLOCKS):
            levels.append(_coarser(levels[-1], block // finer))
        return _pack(sample_rate, channels, frames, levels)


def compute(source: BinaryIO, name: str = "audio") -> bytes:
    """The pyramid of ``source`` (a seekable audio file), in one streaming pass over its samples, read to their
    real end: a header that claims more than is there is refused (decode.measure), never followed."""
    info = decode.probe(source, name)
    source.seek(0)
    pyramid = Pyramid()
    info = decode.measure(source, info, name, on_block=pyramid.add, multiple=BLOCKS[0])
    return pyramid.pack(info.sample_rate, info.channels, info.frames)


def _min_max(samples: np.ndarray, block: int) -> np.ndarray:
    """(blocks, channels, 2) min/max of ``samples`` (frames, channels), the last block possibly partial."""
    frames, channels = samples.shape
    full = frames // block * block
    parts = []
    if full:  # channels first, so each block is a contiguous run and the reductions are fast
        grouped = np.ascontiguousarray(samples[:full].T).reshape(channels, -1, block)
        parts.append(np.stack([grouped.min(axis=2).T, grouped.max(axis=2).T], axis=-1))
    if full < frames:
        tail = samples[full:]
        parts.append(np.stack([tail.min(axis=0), tail.max(axis=0)], axis=-1)[None])
    return np.concatenate(parts) if parts else np.zeros((0, channels, 2), np.int16)


def _coarser(level: np.ndarray, factor: int) -> np.ndarray:
    """Merge every ``factor`` blocks of a level (min of mins, max of maxes)."""
    count, channels, _ = level.shape
    if count == 0:
        return level
    padded = math.ceil(count / factor) * factor
    if padded != count:  # repeat the last block: it changes neither min nor max
        level = np.concatenate([level, np.repeat(level[-1:], padded - count, axis=0)])
    grouped = level.reshape(-1, factor, channels, 2)
    return np.stack([grouped[..., 0].min(axis=1), grouped[..., 1].max(axis=1)], axis=-1)


def _pack(sample_rate: int, channels: int, frames: int, levels: list[np.ndarray]) -> bytes:
    layout, offset = [], 0
    for block, array in zip(BLOCKS, levels, strict=True):
        layout.append({"block": block, "count": int(array.shape[0]), "offset": offset})
        offset += array.nbytes
    header = json.dumps({"sample_rate": sample_rate, "channels": channels, "frames": frames, "levels": layout}).encode()
    start = len(MAGIC) + 4 + len(header)
    out = io.BytesIO()
    out.write(MAGIC + struct.pack("<I", len(header)) + header)
    for array in levels:
        out.write(np.ascontiguousarray(array, dtype="<i2").tobytes())
    data = out.getvalue()
    assert len(data) == start + offset
    return data


# -- reading -------------------------------------------------------------------------------------------

class _HeaderCache:
    """Headers of recently viewed pyramids (a few hundred bytes each), so a view costs one ranged read."""

    def __init__(self, size: int = 256) -> None:
        self.size, self.lock = size, threading.Lock()
        self.items: OrderedDict[tuple[str, str], tuple[Header, int]] = OrderedDict()

    def get(self, storage: Storage, key: str) -> tuple[Header, int]:
        cache_key = (storage.url, key)
        with self.lock:
            if cache_key in self.items:
                self.items.move_to_end(cache_key)
                return self.items[cache_key]
        head = storage.read_range(key, 0, 4096)
        if not head.startswith(MAGIC):
            raise ValidationError("peaks", f"{key} is not a peaks file.")
        length = struct.unpack("<I", head[len(MAGIC): len(MAGIC) + 4])[0]
        start = len(MAGIC) + 4
        raw = head[start: start + length] if start + length <= len(head) else storage.read_range(key, start, length)
        data = json.loads(raw)
        header = Header(data["sample_rate"], data["channels"], data["frames"],
                        tuple(Level(lv["block"], lv["count"], lv["offset"]) for lv in data["levels"]))
        value = (header, start + length)
        with self.lock:
            self.items[cache_key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


HEADERS = _HeaderCache()


@dataclass(frozen=True)
class Envelope:
    """What to draw for a view: x (seconds) and y (-1..1) of one line; ``source`` says where it came from."""

    x: np.ndarray
    y: np.ndarray
    source: str  # "samples" or "peaks/<block>"
    start_seconds: float
    end_seconds: float

    @property
    def points(self) -> int:
        return int(self.x.size)


def read_level(storage: Storage, key: str, first: int, last: int, max_pairs: int) -> tuple[Header, Level, int, np.ndarray]:
    """Blocks covering frames [first, last) at the finest level with at most ``max_pairs`` blocks.

    Returns the header, the level, the index of the first block read, and the blocks (n, channels, 2).
    """
    header, data_start = HEADERS.get(storage, key)
    span = max(1, last - first)
    level = next((lv for lv in header.levels if math.ceil(span / lv.block) <= max_pairs), header.levels[-1])
    b0, b1 = first // level.block, min(level.count, math.ceil(last / level.block))
    row = header.channels * 2 * 2
    raw = storage.read_range(key, data_start + level.offset + b0 * row, max(0, b1 - b0) * row)
    return header, level, b0, np.frombuffer(raw, dtype="<i2").reshape(-1, header.channels, 2)


def envelope(storage: Storage, audio_key: str, key: str | None, start: float, end: float, channel: int | None = None,
             max_points: int = MAX_POINTS) -> Envelope:
    """The line to draw for [start, end) seconds: real samples if they fit in ``max_points``, else min/max pairs.

    ``key`` is the sound's pyramid, None for a sound too short to need one (see :func:`needs_pyramid`).
    ``channel`` None draws every channel together (samples: their mean; peaks: the envelope of all channels).
    """
    header = HEADERS.get(storage, key)[0] if key is not None else _audio_header(storage, audio_key)
    rate = header.sample_rate
    if channel is not None and not 0 <= channel < header.channels:
        raise ValidationError("channel", f"channel must be from 0 to {header.channels - 1}.")
    first = min(max(0, int(start * rate)), max(0, header.frames - 1))
    last = min(header.frames, max(first + 1, int(math.ceil(end * rate))))
    if last - first <= max_points:
        samples = read_samples(storage, audio_key, first, last)
        values = samples.mean(axis=1) if channel is None else samples[:, channel]
        return Envelope((first + np.arange(values.size)) / rate, values.astype(np.float32), "samples", first / rate, last / rate)
    if last - first <= SAMPLES_FOR_PEAKS:  # finer than the pyramid's first level: bucket the real samples
        bucket = math.ceil((last - first) / (max_points // 2))
        pairs = np.concatenate([_min_max(chunk if channel is None else chunk[:, channel: channel + 1], bucket)
                                for chunk in read_chunks(storage, audio_key, first, last, multiple=bucket)])
        lows, highs = pairs[..., 0].min(axis=1), pairs[..., 1].max(axis=1)
        y = np.empty(2 * pairs.shape[0], np.float32)
        y[0::2], y[1::2] = lows, highs
        x = np.repeat((first + np.arange(pairs.shape[0]) * bucket) / rate, 2)
        return Envelope(x, y, f"samples/{bucket}", first / rate, last / rate)
    assert key is not None, "a sound without a pyramid is short enough to be drawn from its samples (needs_pyramid)"
    # a finer level merged down (reads at most 4x the bytes) draws more detail than the next coarser one
    _, level, b0, blocks = read_level(storage, key, first, last, 4 * (max_points // 2))
    factor = max(1, math.ceil(blocks.shape[0] / (max_points // 2)))
    if factor > 1:
        blocks = _coarser(blocks, factor)
    chosen = blocks if channel is None else blocks[:, channel: channel + 1]
    lows, highs = chosen[..., 0].min(axis=1), chosen[..., 1].max(axis=1)
    starts = (b0 + np.arange(blocks.shape[0]) * factor) * level.block / rate
    y = np.empty(2 * blocks.shape[0], np.float32)
    y[0::2], y[1::2] = lows / 32768.0, highs / 32768.0
    return Envelope(np.repeat(starts, 2), y, f"peaks/{level.block * factor}", first / rate, last / rate)


def _audio_header(storage: Storage, audio_key: str) -> Header:
    """A sound's rate, channels and length read from its audio file (for a sound without a pyramid)."""
    with storage.open_seekable(audio_key) as raw, sf.SoundFile(raw) as f:
        header = Header(int(f.samplerate), int(f.channels), int(f.frames), ())
    if needs_pyramid(header.frames):
        raise ValidationError("peaks", f"{audio_key} is too long to draw without its peaks.")
    return header


def read_samples(storage: Storage, audio_key: str, first: int, last: int) -> np.ndarray:
    """Frames [first, last) as float32 (frames, channels), by seeking: the rest of the file is not read. For the
    short spans a view draws from its samples; longer ones are worked through with :func:`read_chunks`."""
    chunks = list(read_chunks(storage, audio_key, first, last))
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)


def read_chunks(storage: Storage, audio_key: str, first: int, last: int, multiple: int = 1) -> Iterator[np.ndarray]:
    """Frames [first, last) as float32 (frames, channels) in chunks of about decode.READ_SAMPLES samples (a whole
    number of ``multiple`` frames but for the last), each read in a decode slot, so that memory stays bounded
    whatever the span, the rate or the channel count. Audio that ends before ``last`` (a header that claimed
    more, in a sound stored before uploads were measured) is a ValidationError, not a decoder's crash. An empty
    span is one empty chunk."""
    with storage.open_seekable(audio_key) as raw, sf.SoundFile(raw) as f:
        if first >= last:
            yield np.zeros((0, f.channels), np.float32)
            return
        reader = decode.Reader(f, first, last, decode.frames_per_read(f.channels, multiple), slot=True)
        yield from reader
        reader.check(PurePosixPath(audio_key).name)
