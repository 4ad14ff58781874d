"""Peaks pyramid, window reading, views, spectrogram and playback of a part, on both storage backends."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from core.accounts.users import UserService
from core.audio import peaks
from core.audio.waveform import PLAY_MAX_SECONDS, View, playback, spectrogram
from core.catalogue.queue import Queue
from core.catalogue.sounds import SoundFilter, SoundService
from core.errors import ValidationError
from core.ingest.pipeline import UploadOptions, ensure_peaks, ingest_audio
from core.store.storage import LocalStorage
from core.ui.screen import build_screen
from tests.conftest import make_user

RATE = 8000


def signal(seconds: float, channels: int = 1) -> np.ndarray:
    """A ramp in amplitude with a known shape: |x| grows linearly over the file."""
    t = np.arange(int(seconds * RATE)) / RATE
    mono = np.sin(2 * np.pi * 50 * t) * (t / seconds) * 0.9
    return np.stack([mono, -0.5 * mono][:channels], axis=1)


def stored_sound(earmark, seconds=60.0, channels=1, name="long.wav"):
    with earmark.db.read() as session:
        user = next((u for u in UserService(session).list().items if u.user_name == "vox"), None)
    user = user or make_user(earmark.db, "vox", "dataset")
    buffer = io.BytesIO()
    sf.write(buffer, signal(seconds, channels), RATE, format="WAV", subtype="PCM_16")
    result = ingest_audio(earmark.db, earmark.storage, user, name, io.BytesIO(buffer.getvalue()),
                          UploadOptions(dataset="vox", max_bytes=10**9))
    with earmark.db.read() as session:
        return SoundService(session, earmark.storage).get(result.sound_id)


def test_pyramid_levels_hold_true_min_and_max(tmp_path):
    samples = (signal(10.0) * 32767).astype(np.int16)
    buffer = io.BytesIO()
    sf.write(buffer, samples, RATE, format="WAV", subtype="PCM_16")
    data = peaks.compute(io.BytesIO(buffer.getvalue()))
    storage = LocalStorage(tmp_path)
    storage.put("p.bin", data)
    header, _ = peaks.HEADERS.get(storage, "p.bin")
    assert (header.sample_rate, header.channels, header.frames) == (RATE, 1, 80_000)
    for block_size in peaks.BLOCKS:
        level = next(lv for lv in header.levels if lv.block == block_size)
        assert level.count == -(-80_000 // block_size)
    _, level, b0, blocks = peaks.read_level(storage, "p.bin", 0, 80_000, 400)
    assert level.block == 256 and b0 == 0
    for i in (0, 7, len(blocks) - 1):
        chunk = samples[i * 256:(i + 1) * 256, 0]
        assert blocks[i, 0, 0] == chunk.min() and blocks[i, 0, 1] == chunk.max()


@pytest.mark.parametrize("start, end, source, max_points", [
    (10.0, 10.2, "samples", 5000),      # 1,600 samples: drawn as they are
    (10.0, 15.0, "samples/", 5000),     # 40,000 samples: bucketed real samples
    (0.0, 60.0, "peaks/256", 5000),     # 480,000 samples: the first pyramid level
    (0.0, 60.0, "peaks/", 200),         # a small budget forces a coarser level
])
def test_any_window_stays_within_the_point_budget(earmark, start, end, source, max_points):
    sound = stored_sound(earmark)
    key = ensure_peaks(earmark.db, earmark.storage, sound)
    line = peaks.envelope(earmark.storage, sound.file.key, key, start, end, max_points=max_points)
    assert line.source.startswith(source) and line.points <= max_points
    assert line.x.min() >= start - 0.04 and line.x.max() <= end
    # the ramp: the envelope near the end of the window is louder than near its start
    head, tail = np.abs(line.y[: line.points // 10]).max(), np.abs(line.y[-line.points // 10:]).max()
    assert tail > head


def test_channels_can_be_drawn_alone_or_together(local_earmark):
    sound = stored_sound(local_earmark, seconds=5.0, channels=2)
    key = ensure_peaks(local_earmark.db, local_earmark.storage, sound)
    first = peaks.envelope(local_earmark.storage, sound.file.key, key, 0, 5, channel=0)
    second = peaks.envelope(local_earmark.storage, sound.file.key, key, 0, 5, channel=1)
    assert np.abs(second.y).max() == pytest.approx(np.abs(first.y).max() / 2, rel=0.02)
    with pytest.raises(ValidationError, match="channel must be from 0 to 1"):
        peaks.envelope(local_earmark.storage, sound.file.key, key, 0, 5, channel=2)


def test_pyramid_is_stored_at_ingest_and_removed_with_the_sound(earmark):
    sound = stored_sound(earmark, seconds=30.0)  # 240,000 frames: enough for a pyramid
    assert earmark.storage.exists(peaks.peaks_key(sound.id))
    with earmark.db.write() as session:
        SoundService(session, earmark.storage).delete(UserService(session).by_name("vox"), sound.id)
    assert list(earmark.storage.list()) == []


def test_a_short_sound_has_no_pyramid_and_every_view_of_it_is_drawn_from_its_samples(earmark):
    sound = stored_sound(earmark, seconds=peaks.SAMPLES_FOR_PEAKS / RATE, name="short.wav")  # the longest without one
    assert not earmark.storage.exists(peaks.peaks_key(sound.id))
    assert ensure_peaks(earmark.db, earmark.storage, sound) is None
    whole = peaks.envelope(earmark.storage, sound.file.key, None, 0.0, sound.duration_seconds)
    assert whole.source.startswith("samples") and whole.end_seconds == pytest.approx(sound.duration_seconds)
    zoomed = peaks.envelope(earmark.storage, sound.file.key, None, 1.0, 1.1)
    assert zoomed.source == "samples" and zoomed.points == 800
    with pytest.raises(ValidationError, match="too long to draw without its peaks"):
        peaks.envelope(earmark.storage, stored_sound(earmark, seconds=30.0).file.key, None, 0.0, 30.0)


def test_a_missing_pyramid_is_made_on_first_view(local_earmark):
    sound = stored_sound(local_earmark, seconds=30.0)
    local_earmark.storage.delete(peaks.peaks_key(sound.id))
    from sqlalchemy import delete

    from core.store.models import StoredFile
    with local_earmark.db.write() as session:
        session.execute(delete(StoredFile).where(StoredFile.key == peaks.peaks_key(sound.id)))
    key = ensure_peaks(local_earmark.db, local_earmark.storage, sound)
    assert local_earmark.storage.exists(key)


def test_views_stay_inside_the_sound():
    assert View.clamp(-5, 10, 60) == View(0, 10)
    assert View.clamp(55, 10, 60) == View(50, 60)
    assert View.clamp(0, 100, 60) == View(0, 60)
    assert View(10, 20).zoom(0.5, 60) == View(12.5, 17.5)
    assert View(0, 10).zoom(2, 60) == View(0, 20)
    assert View(50, 60).shift(0.5, 60) == View(50, 60)
    assert View(10, 20).shift(-0.5, 60) == View(5, 15)
    assert View.clamp(5, 0, 60).length == pytest.approx(0.01)


def test_spectrogram_finds_the_tone():
    t = np.arange(RATE) / RATE
    times, freqs, db = spectrogram(np.sin(2 * np.pi * 1000 * t).astype(np.float32), RATE)
    assert freqs[db.mean(axis=1).argmax()] == pytest.approx(1000, abs=RATE / 512)
    assert db.shape == (257, times.size) and times.size <= 601


def test_playback_sends_only_the_part(earmark):
    sound = stored_sound(earmark, seconds=30.0)
    part = playback(earmark.storage, sound, 10.0, 12.0)
    if part.url:  # S3: the browser streams the range itself
        assert (part.start, part.end) == (10.0, 12.0) and "long.wav" in part.url
    else:
        decoded, rate = sf.read(io.BytesIO(part.data))
        assert rate == RATE and len(decoded) == 2 * RATE and (part.start, part.end) == (0.0, 2.0)
    single = playback(earmark.storage, sound, 10.0, 12.0, channel=0)
    assert single.data is not None and len(sf.read(io.BytesIO(single.data))[0]) == 2 * RATE
    with pytest.raises(ValidationError, match="nothing to play"):
        playback(earmark.storage, sound, 12.0, 12.0)


def test_playing_more_than_the_limit_is_refused_locally(local_earmark, monkeypatch):
    import core.audio.waveform

    sound = stored_sound(local_earmark, seconds=3.0)
    monkeypatch.setattr(core.audio.waveform, "PLAY_MAX_SECONDS", 1.0)
    with pytest.raises(ValidationError, match="zoom in"):
        playback(local_earmark.storage, sound, 0.0, 2.0)
    assert PLAY_MAX_SECONDS == 600.0


def test_screen_has_everything_the_page_draws(local_earmark):
    sound = stored_sound(local_earmark, seconds=60.0)
    screen = build_screen(local_earmark.db, local_earmark.storage, sound.id, Queue(SoundFilter(dataset="vox")),
                          view_start=20.0, view_length=10.0, selection=(21.0, 22.5))
    assert screen.view == View(20.0, 30.0) and screen.position == (1, 1)
    assert screen.line.points <= 5000 and screen.figure.layout.dragmode == "select"
    assert screen.figure.layout.selectdirection == "h"
    assert [s.x0 for s in screen.figure.layout.shapes] == [21.0]  # the selection band
    light = build_screen(local_earmark.db, local_earmark.storage, sound.id, Queue(SoundFilter(dataset="vox")),
                         view_start=20.0, view_length=10.0, figures=False)  # the interactive waveform draws its own
    assert light.view == screen.view and light.position == (1, 1) and light.line is light.figure is light.overview is None


def test_annotation_labels_on_the_waveform_are_text_not_markup():
    from core.audio.waveform import waveform_figure
    from core.store.models import Annotation, AnnotationTag

    line = peaks.Envelope(x=np.array([0.0, 1.0]), y=np.array([0.0, 0.0]), source="samples", start_seconds=0.0, end_seconds=1.0)
    notes = [Annotation(start_seconds=0.1, duration_seconds=0.2, text='<a href="http://elsewhere/">x</a>', tags=[]),
             Annotation(start_seconds=0.4, duration_seconds=0.2, text=None, tags=[AnnotationTag(tag="<b>loud</b>")])]
    labels = [a.text for a in waveform_figure(line, View(0.0, 1.0), notes).layout.annotations]
    assert labels == ["&lt;a href=&quot;http://elsewhere/&quot;&gt;x&lt;", "&lt;b&gt;loud&lt;/b&gt;"]  # text cut to 30, then escaped


def test_suggestions_are_drawn_apart_from_peoples_annotations():
    from core.audio.waveform import waveform_figure
    from core.store.models import Annotation, AnnotationTag

    line = peaks.Envelope(x=np.array([0.0, 1.0]), y=np.array([0.0, 0.0]), source="samples", start_seconds=0.0, end_seconds=1.0)
    person = Annotation(start_seconds=0.1, duration_seconds=0.2, tags=[AnnotationTag(tag="kick")])
    machine = Annotation(start_seconds=0.4, duration_seconds=0.2, tags=[AnnotationTag(tag="onset")], source="onsets:abc")
    figure = waveform_figure(line, View(0.0, 1.0), [person, machine])
    bands = {shape.x0: shape for shape in figure.layout.shapes}
    assert bands[0.1].line.dash is None and bands[0.4].line.dash == "dot" and bands[0.4].opacity < bands[0.1].opacity
    assert [a.text for a in figure.layout.annotations] == ["kick", "? onset"]
