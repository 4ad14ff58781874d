"""What the Annotate page draws and plays: the waveform of a view, the overview strip, the spectrogram, and
the audio of a part. Built here (numpy, plotly) so the page only places them.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import soundfile as sf

from core.audio import peaks
from core.errors import ValidationError
from core.store.models import Annotation, Sound
from core.store.storage import Storage

MIN_VIEW_SECONDS = 0.01
SPECTROGRAM_MAX_SECONDS = 120.0
SPECTROGRAM_COLUMNS = 600
SPECTROGRAM_RANGE_DB = 80.0  # shown below the loudest bin; quieter is drawn as silence
PLAY_MAX_SECONDS = 600.0  # a played part is encoded on the fly; longer parts are refused, not truncated
SELECTION_COLOR = "rgba(30, 30, 30, 0.12)"


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
    _base_layout(fig, View(0.0, duration), 70)
    fig.update_layout(margin=dict(l=40, r=10, t=0, b=20), dragmode=False, hovermode=False, xaxis_fixedrange=True)
    return fig


def spectrogram(samples: np.ndarray, rate: int, n_fft: int = 512) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-magnitude STFT (dB) of mono ``samples``: (times from the start, frequencies, dB [freq, time])."""
    if samples.size < n_fft:
        samples = np.pad(samples, (0, n_fft - samples.size))
    hop = max(n_fft // 4, math.ceil((samples.size - n_fft) / SPECTROGRAM_COLUMNS))
    count = 1 + (samples.size - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]
    frames = samples[index] * np.hanning(n_fft)[None, :]
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    db = 10 * np.log10(np.maximum(power, 1e-10)).T
    return (np.arange(count) * hop + n_fft / 2) / rate, np.fft.rfftfreq(n_fft, 1 / rate), db.astype(np.float32)


def spectrogram_figure(storage: Storage, sound: Sound, view: View, channel: int | None) -> go.Figure:
    if view.length > SPECTROGRAM_MAX_SECONDS:
        raise ValidationError("view", f"Zoom in to {SPECTROGRAM_MAX_SECONDS:g} s or less to see the spectrogram.")
    samples = _part(storage, sound, view.start, view.end, channel)
    times, freqs, db = spectrogram(samples, sound.sample_rate or 1)
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
    stretches it over the view. Views longer than SPECTROGRAM_MAX_SECONDS are refused (the audio is read to draw it)."""
    from PIL import Image  # here: only this image needs it

    if end - start > SPECTROGRAM_MAX_SECONDS:
        raise ValidationError("end", f"Zoom in to {SPECTROGRAM_MAX_SECONDS:g} s or less to see the spectrogram.")
    _, _, db = spectrogram(_part(storage, sound, start, end, channel), sound.sample_rate or 1)
    level = np.clip((db - (db.max() - SPECTROGRAM_RANGE_DB)) / SPECTROGRAM_RANGE_DB, 0.0, 1.0)
    pixels = VIRIDIS[(level[::-1] * 255).astype(np.uint8)]  # [freq (top: highest), time, rgb]
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format="PNG", optimize=False)
    return out.getvalue()


def _part(storage: Storage, sound: Sound, start: float, end: float, channel: int | None) -> np.ndarray:
    if sound.file is None or not sound.sample_rate:
        raise ValidationError("sound", f"Sound {sound.title!r} has no stored audio.")
    first = max(0, int(start * sound.sample_rate))
    last = min(sound.frames or 0, int(math.ceil(end * sound.sample_rate)))
    samples = peaks.read_samples(storage, sound.file.key, first, max(first, last))
    return samples.mean(axis=1) if channel is None else samples[:, channel]


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
    url = storage.presigned_url(sound.file.key, expires_seconds=900) if channel is None else None
    if url:
        return Playback(url, None, start, end)
    return Playback(None, encode_part(storage, sound, start, end, channel), 0.0, end - start)


def encode_part(storage: Storage, sound: Sound, start: float, end: float, channel: int | None = None) -> bytes:
    """[start, end) seconds of the sound as a 16-bit WAV, read by seeking (the rest of the file is not read)."""
    start, end = max(0.0, start), min(sound.duration_seconds, end)
    if end - start <= 0:
        raise ValidationError("end_seconds", "There is nothing to play: the end must come after the start.")
    if end - start > PLAY_MAX_SECONDS:
        raise ValidationError("end_seconds", f"Parts longer than {PLAY_MAX_SECONDS / 60:g} minutes are not played here; zoom in.")
    buffer = io.BytesIO()
    sf.write(buffer, _part(storage, sound, start, end, channel), sound.sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
