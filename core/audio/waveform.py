"""What the Annotate page draws and plays: the waveform of a view, the overview strip, the spectrogram, and
the audio of a part. Built here (numpy, plotly) so the page only places them.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np
import plotly.graph_objects as go
import soundfile as sf

from core.audio import decode, peaks
from core.errors import ValidationError
from core.store.models import Annotation, Sound
from core.store.storage import Storage

MIN_VIEW_SECONDS = 0.01
SPECTROGRAM_MAX_SECONDS = 120.0
SPECTROGRAM_COLUMNS = 600
SPECTROGRAM_RANGE_DB = 80.0  # shown below the loudest bin; quieter is drawn as silence
PLAY_MAX_SECONDS = 600.0  # a played part is encoded on the fly; longer parts are refused, not truncated
PLAY_MAX_SAMPLES = 600 * 48_000 * 2  # and so are parts reading more samples than ten minutes of 48 kHz stereo
N_FFT = 512
READ_THROUGH = {"OGG"}  # formats whose seeks are not sample-exact: a spectrogram reads their span straight through
SEEK_GAP = 8192  # samples (frames x channels) between spectrogram windows past which a seek costs less than decoding them
SELECTION_COLOR = "rgba(30, 30, 30, 0.12)"
OVERVIEW_HEIGHT = 84  # px: the whole sound, small, above its time labels
OVERVIEW_LABELS = 30  # px below the axis for the time labels (20 cut them off)


@dataclass(frozen=True)
class View:
    """The part of a sound on screen, always inside the sound and at least MIN_VIEW_SECONDS long."""

    start: float
    end: float

    @classmethod
    def clamp(cls, start: float, length: float, duration: float) -> View:
        length = min(max(length, MIN_VIEW_SECONDS), duration)
        start = min(max(0.0, start), max(0.0, duration - length))
        return cls(start, start + length)

    @property
    def length(self) -> float:
        return self.end - self.start

    def zoom(self, factor: float, duration: float) -> View:
        centre = (self.start + self.end) / 2
        length = self.length * factor
        return View.clamp(centre - length / 2, length, duration)

    def shift(self, fraction: float, duration: float) -> View:
        return View.clamp(self.start + fraction * self.length, self.length, duration)


def _base_layout(fig: go.Figure, view: View, height: int) -> None:
    fig.update_layout(
        height=height, margin=dict(l=40, r=10, t=10, b=30), showlegend=False, plot_bgcolor="white",
        xaxis=dict(range=[view.start, view.end], title=None, showgrid=True, gridcolor="#eee", ticksuffix=" s"),
        yaxis=dict(range=[-1.05, 1.05], fixedrange=True, showticklabels=False, zeroline=True, zerolinecolor="#ddd"),
    )


def waveform_figure(
    line: peaks.Envelope, view: View, annotations: Iterable[Annotation] = (), colors: dict[str, str] | None = None,
    selection: tuple[float, float] | None = None,
) -> go.Figure:
    """The view's waveform with annotations as coloured bands; drag horizontally to select a segment."""
    colors = colors or {}
    fig = go.Figure(go.Scatter(x=line.x, y=line.y, mode="lines", line=dict(width=1, color="#1f4e79"),
                               hoverinfo="skip", name="waveform"))
    for annotation in annotations:
        if annotation.end_seconds < view.start or annotation.start_seconds > view.end:
            continue
        tags = annotation.tag_names
        color = colors.get(tags[0], "#888888") if tags else "#888888"
        label = html.escape(", ".join(tags) or (annotation.text or "")[:30])  # Plotly renders <a>, <b>, <span> in labels
        if annotation.source:  # a machine's suggestion: faint and outlined in dots, marked "?", until a person accepts it
            fig.add_vrect(x0=annotation.start_seconds, x1=annotation.end_seconds, fillcolor=color, opacity=0.08,
                          line=dict(color=color, width=1.5, dash="dot"), annotation_text=f"? {label}",
                          annotation_position="bottom left", annotation_font=dict(size=10, color=color))
            continue
        fig.add_vrect(x0=annotation.start_seconds, x1=annotation.end_seconds, fillcolor=color, opacity=0.22,
                      line_width=0, annotation_text=label, annotation_position="top left",
                      annotation_font=dict(size=11, color=color))
    if selection:
        fig.add_vrect(x0=selection[0], x1=selection[1], fillcolor=SELECTION_COLOR, line=dict(color="#333", dash="dot", width=1))
    _base_layout(fig, view, 260)
    fig.update_layout(dragmode="select", selectdirection="h", hovermode=False)
    return fig


def overview_figure(line: peaks.Envelope, view: View, duration: float) -> go.Figure:
    """The whole sound, small, with the current view marked."""
    fig = go.Figure(go.Scatter(x=line.x, y=line.y, mode="lines", line=dict(width=1, color="#7a8ca5"), hoverinfo="skip"))
    fig.add_vrect(x0=view.start, x1=view.end, fillcolor="rgba(255, 165, 0, 0.3)", line=dict(color="orange", width=1))
    _base_layout(fig, View(0.0, duration), OVERVIEW_HEIGHT)
    fig.update_layout(margin=dict(l=40, r=10, t=4, b=OVERVIEW_LABELS), dragmode=False, hovermode=False, xaxis_fixedrange=True)
    return fig


def spectrogram(samples: np.ndarray, rate: int, n_fft: int = N_FFT) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-magnitude STFT (dB) of mono ``samples``: (times from the start, frequencies, dB [freq, time])."""
    if samples.size < n_fft:
        samples = np.pad(samples, (0, n_fft - samples.size))
    hop, count = _hops(samples.size, n_fft)
    index = np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]
    return _stft(samples[index], hop, rate)


def _hops(frames: int, n_fft: int) -> tuple[int, int]:
    """The hop between STFT windows over ``frames`` (at least n_fft / 4, so at most SPECTROGRAM_COLUMNS of
    them) and how many windows there are."""
    hop = max(n_fft // 4, math.ceil((frames - n_fft) / SPECTROGRAM_COLUMNS))
    return hop, 1 + (frames - n_fft) // hop


def _stft(windows: np.ndarray, hop: int, rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, frequencies, dB [freq, time]) of ``windows`` (count, n_fft) taken every ``hop`` samples."""
    count, n_fft = windows.shape
    power = np.abs(np.fft.rfft(windows * np.hanning(n_fft)[None, :], axis=1)) ** 2
    db = 10 * np.log10(np.maximum(power, 1e-10)).T
    return (np.arange(count) * hop + n_fft / 2) / rate, np.fft.rfftfreq(n_fft, 1 / rate), db.astype(np.float32)


def view_spectrogram(storage: Storage, sound: Sound, start: float, end: float, channel: int | None,
                     n_fft: int = N_FFT) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`spectrogram` of [start, end) of a stored sound, reading only the windows it uses: at most
    SPECTROGRAM_COLUMNS runs of ``n_fft`` frames, read together when they are close and by seeking when they
    are not. Memory and work are bounded by the columns, not by the view's seconds times the sound's rate
    (a view of a 512 MB WAV at 8 MHz used to be read whole, 2 GB as float32, to keep 600 x 512 of its samples)."""
    first, last = _frames(sound, start, end, channel)
    rate = sound.sample_rate or 1
    if last - first < n_fft:
        return spectrogram(_mono(peaks.read_samples(storage, sound.audio.key, first, last), channel), rate, n_fft)
    hop, count = _hops(last - first, n_fft)
    windows = _windows(storage, sound.audio.key, first + hop * np.arange(count), n_fft, channel)
    return _stft(windows, hop, rate)


def _windows(storage: Storage, key: str, starts: np.ndarray, n_fft: int, channel: int | None) -> np.ndarray:
    """The mono windows of ``n_fft`` frames at ``starts`` (count, n_fft): windows less than SEEK_GAP samples
    apart are read together, in runs of at most one read's frames; farther apart, each is read alone after a
    seek (measured on WAV, FLAC and MP3: past ~8,000 samples, one seek costs less than decoding the gap). Ogg is
    always read through: libsndfile's Vorbis seeks land on samples that differ from a straight read (by up to
    0.3 at 48 kHz stereo), which would streak the picture."""
    windows = np.empty((len(starts), n_fft), np.float32)
    name = PurePosixPath(key).name
    with storage.open_seekable(key) as raw, sf.SoundFile(raw) as f:
        budget = max(n_fft, decode.frames_per_read(f.channels))
        near = f.format in READ_THROUGH or (len(starts) > 1 and int(starts[1] - starts[0]) * f.channels < SEEK_GAP)
        held, held_start, position = np.zeros(0, np.float32), int(starts[0]), int(starts[0])  # held: [held_start, position)
        i = 0
        while i < len(starts):
            j = i + 1
            while j < len(starts) and near and starts[j] + n_fft - starts[i] <= budget:
                j += 1
            if not near:  # the next read seeks
                held, held_start, position = held[:0], int(starts[i]), int(starts[i])
            elif starts[i] >= position:  # read on through the gap, a read at a time, keeping none of it
                _read_through(f, position, int(starts[i]), budget, name)
                held, held_start, position = held[:0], int(starts[i]), int(starts[i])
            else:  # the windows overlap the last run: keep its tail
                held, held_start = held[int(starts[i]) - held_start:], int(starts[i])
            end = int(starts[j - 1]) + n_fft
            if end > position:
                held = np.concatenate([held, _mono(_read_run(f, position, end, name), channel)])
                position = end
            for k in range(i, j):
                windows[k] = held[starts[k] - held_start: starts[k] - held_start + n_fft]
            i = j
    return windows


def _read_through(f: sf.SoundFile, first: int, last: int, block: int, name: str) -> None:
    """Decode frames [first, last) and drop them: to go on in a file whose seeks are not exact (READ_THROUGH)."""
    reader = decode.Reader(f, first, last, block, slot=True)
    for _ in reader:
        pass
    reader.check(name)


def _read_run(f: sf.SoundFile, first: int, last: int, name: str) -> np.ndarray:
    """Frames [first, last) of an open file in one read (in a decode slot), or the sentence saying it ends early."""
    reader = decode.Reader(f, first, last, last - first, slot=True)
    run = next(iter(reader), None)
    reader.check(name)
    assert run is not None, "check() refuses a read that returned no frames"
    return run


def _mono(samples: np.ndarray, channel: int | None) -> np.ndarray:
    """One channel, or all of them averaged (what the page draws and plays by default)."""
    return samples.mean(axis=1) if channel is None else samples[:, channel]


def spectrogram_figure(storage: Storage, sound: Sound, view: View, channel: int | None) -> go.Figure:
    if view.length > SPECTROGRAM_MAX_SECONDS:
        raise ValidationError("view", f"Zoom in to {SPECTROGRAM_MAX_SECONDS:g} s or less to see the spectrogram.")
    times, freqs, db = view_spectrogram(storage, sound, view.start, view.end, channel)
    fig = go.Figure(go.Heatmap(x=view.start + times, y=freqs, z=db, colorscale="Viridis", showscale=False,
                               zmin=float(db.max()) - SPECTROGRAM_RANGE_DB, zmax=float(db.max()), hoverinfo="skip"))
    fig.update_layout(height=200, margin=dict(l=40, r=10, t=0, b=30), xaxis=dict(range=[view.start, view.end], ticksuffix=" s"),
                      yaxis=dict(title=None, ticksuffix=" Hz", fixedrange=True), dragmode=False)
    return fig


def _viridis(levels: int = 256) -> np.ndarray:
    """Plotly's Viridis stops spread to ``levels`` RGB rows (uint8), for colouring spectrogram images."""
    from plotly.colors import hex_to_rgb, sequential

    stops = np.array([hex_to_rgb(c) for c in sequential.Viridis], dtype=float)
    where = np.linspace(0, len(stops) - 1, levels)
    return np.stack([np.interp(where, np.arange(len(stops)), stops[:, k]) for k in range(3)], axis=1).round().astype(np.uint8)


VIRIDIS = _viridis()


def spectrogram_png(storage: Storage, sound: Sound, start: float, end: float, channel: int | None) -> bytes:
    """The spectrogram of [start, end) as a PNG: one column per STFT frame (at most SPECTROGRAM_COLUMNS), one row
    per frequency bin, high frequencies at the top, the loudest SPECTROGRAM_RANGE_DB in Viridis; the browser
    stretches it over the view. Views longer than SPECTROGRAM_MAX_SECONDS are refused (a view's columns are made
    from its windows alone, so what one costs does not grow with the view: see :func:`view_spectrogram`)."""
    from PIL import Image  # here: only this image needs it

    if end - start > SPECTROGRAM_MAX_SECONDS:
        raise ValidationError("end", f"Zoom in to {SPECTROGRAM_MAX_SECONDS:g} s or less to see the spectrogram.")
    _, _, db = view_spectrogram(storage, sound, start, end, channel)
    level = np.clip((db - (db.max() - SPECTROGRAM_RANGE_DB)) / SPECTROGRAM_RANGE_DB, 0.0, 1.0)
    pixels = VIRIDIS[(level[::-1] * 255).astype(np.uint8)]  # [freq (top: highest), time, rgb]
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format="PNG", optimize=False)
    return out.getvalue()


def _frames(sound: Sound, start: float, end: float, channel: int | None) -> tuple[int, int]:
    """The frames [first, last) of [start, end) seconds, inside the sound; the sound must have stored audio and
    ``channel`` (None: all together) must be one of its channels."""
    if sound.file is None or not sound.sample_rate:
        raise ValidationError("sound", f"Sound {sound.title!r} has no stored audio.")
    if channel is not None and not 0 <= channel < (sound.channels or 1):
        raise ValidationError("channel", f"channel must be from 0 to {(sound.channels or 1) - 1}.")
    first = max(0, int(start * sound.sample_rate))
    last = min(sound.frames or 0, int(math.ceil(end * sound.sample_rate)))
    return first, max(first, last)


@dataclass(frozen=True)
class Playback:
    """How to play a part: a URL the browser streams with Range requests, or the encoded part itself."""

    url: str | None
    data: bytes | None
    start: float
    end: float


def playback(storage: Storage, sound: Sound, start: float, end: float, channel: int | None = None) -> Playback:
    """Never the whole file: a short-lived presigned URL (S3; the browser fetches ranges) or just the part."""
    start, end = max(0.0, start), min(sound.duration_seconds, end)
    if end - start <= 0:
        raise ValidationError("end_seconds", "There is nothing to play: the end must come after the start.")
    if sound.file is None:
        raise ValidationError("sound", f"Sound {sound.title!r} has no stored audio to play.")
    url = storage.presigned_url(sound.audio.key, expires_seconds=900) if channel is None else None
    if url:
        return Playback(url, None, start, end)
    return Playback(None, encode_part(storage, sound, start, end, channel), 0.0, end - start)


@dataclass(frozen=True)
class WavPart:
    """Frames [first, last) of a stored sound as a 16-bit mono WAV of ``size`` bytes, encoded a read at a time as
    :meth:`chunks` is iterated, so that sending a part holds one read, not the part."""

    storage: Storage
    key: str
    rate: int
    first: int
    last: int
    channel: int | None

    @property
    def size(self) -> int:
        return len(self.header()) + 2 * (self.last - self.first)

    def header(self) -> bytes:
        """libsndfile's own header for this part (its sizes patched in), so the bytes are what sf.write made."""
        out = io.BytesIO()
        sf.write(out, np.zeros(0, np.float32), self.rate, format="WAV", subtype="PCM_16")
        head = bytearray(out.getvalue())
        data = 2 * (self.last - self.first)
        head[4:8] = (len(head) - 8 + data).to_bytes(4, "little")
        head[-4:] = data.to_bytes(4, "little")
        return bytes(head)

    def chunks(self) -> Iterator[bytes]:
        yield self.header()
        for chunk in peaks.read_chunks(self.storage, self.key, self.first, self.last):
            out = io.BytesIO()
            sf.write(out, _mono(chunk, self.channel), self.rate, format="RAW", subtype="PCM_16", endian="LITTLE")
            yield out.getvalue()


def wav_part(storage: Storage, sound: Sound, start: float, end: float, channel: int | None = None) -> WavPart:
    """[start, end) seconds of the sound as a 16-bit WAV to encode while it is sent, read by seeking (the rest of
    the file is not read). Refused above PLAY_MAX_SECONDS or PLAY_MAX_SAMPLES samples read (frames times
    channels: a minute of a 1 MHz recording is as much work as ten of 48 kHz stereo); its last frame is read
    first, so a sound whose audio ends early is a sentence before anything is sent, not a cut-off answer."""
    start, end = max(0.0, start), min(sound.duration_seconds, end)
    if end - start <= 0:
        raise ValidationError("end_seconds", "There is nothing to play: the end must come after the start.")
    if end - start > PLAY_MAX_SECONDS:
        raise ValidationError("end_seconds", f"Parts longer than {PLAY_MAX_SECONDS / 60:g} minutes are not played here; zoom in.")
    first, last = _frames(sound, start, end, channel)
    if (last - first) * (sound.channels or 1) > PLAY_MAX_SAMPLES:
        longest = PLAY_MAX_SAMPLES / ((sound.channels or 1) * sound.rate)
        raise ValidationError("end_seconds", f"Parts of this sound longer than {longest:.3g} s ({PLAY_MAX_SAMPLES:,} samples) "
                                             "are not played here; zoom in.")
    if last > first:
        peaks.read_samples(storage, sound.audio.key, last - 1, last)
    return WavPart(storage, sound.audio.key, sound.rate, first, last, channel)


def encode_part(storage: Storage, sound: Sound, start: float, end: float, channel: int | None = None) -> bytes:
    """:func:`wav_part` as bytes, for a page that hands them to its player (``st.audio`` keeps them in memory)."""
    return b"".join(wav_part(storage, sound, start, end, channel).chunks())
