"""No file costs more than its size (issue 24): headers that claim more audio than a file holds are refused at
upload (or the audio measured to its real end), views of a sound are bounded by its samples, not its seconds, and
a burst of decodes waits for its turn. The crafted files are made here: a real MP3 whose Xing header's frame count
is patched, a FLAC whose STREAMINFO total is patched, an 8-bit WAV at 1 MHz."""

from __future__ import annotations

import io
import threading
import tracemalloc

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import update

from core.audio import decode, peaks, waveform
from core.catalogue.sounds import SoundService
from core.errors import ValidationError
from core.ingest.pipeline import UploadOptions, ingest_audio
from core.store.models import Sound
from tests.conftest import make_user, wav_bytes

needs_mp3 = pytest.mark.skipif("MP3" not in sf.available_formats(), reason="this libsndfile writes no MP3")


def mp3_bytes(seconds: float = 2.0, rate: int = 16_000) -> bytes:
    """A real MP3 (LAME through libsndfile): a tone, with a Xing/Info header giving its frame count."""
    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    sf.write(buffer, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate, format="MP3")
    return buffer.getvalue()


def xing_frames(data: bytes) -> tuple[int, int]:
    """Where the Xing/Info header's MPEG frame count is (4 bytes, big-endian), and its value."""
    at = max(data.find(b"Xing"), data.find(b"Info"))
    assert at > 0 and int.from_bytes(data[at + 4: at + 8], "big") & 1, "no frame count in the Xing header"
    return at + 8, int.from_bytes(data[at + 8: at + 12], "big")


def lying_mp3(claimed_mpeg_frames: int, seconds: float = 2.0) -> bytes:
    data = bytearray(mp3_bytes(seconds))
    at, _ = xing_frames(data)
    data[at: at + 4] = claimed_mpeg_frames.to_bytes(4, "big")
    return bytes(data)


def lying_flac(claimed_samples: int = 100_000, seconds: float = 0.5, rate: int = 16_000) -> bytes:
    """A FLAC whose STREAMINFO says ``claimed_samples``: 36 bits from the low half of its 14th byte."""
    data = bytearray(wav_bytes(seconds=seconds, sample_rate=rate, fmt="FLAC"))
    info = 8  # "fLaC", then the 4-byte header of the STREAMINFO block
    data[info + 13] = (data[info + 13] & 0xF0) | (claimed_samples >> 32)
    data[info + 14: info + 18] = (claimed_samples & 0xFFFFFFFF).to_bytes(4, "big")
    return bytes(data)


def u8_wav(seconds: float, rate: int = 1_000_000) -> bytes:
    """An 8-bit mono WAV at ``rate``: one byte a sample (libsndfile's own header, noise for the samples)."""
    head = io.BytesIO()
    sf.write(head, np.zeros(0, np.float32), rate, format="WAV", subtype="PCM_U8")
    header, size = bytearray(head.getvalue()), int(seconds * rate)
    header[4:8] = (len(header) - 8 + size).to_bytes(4, "little")
    header[-4:] = size.to_bytes(4, "little")
    return bytes(header) + np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8).tobytes()


@pytest.fixture
def vox(local_earmark):
    return make_user(local_earmark.db, "vox", "dataset")


def ingest(earmark, user, name: str, data: bytes):
    return ingest_audio(earmark.db, earmark.storage, user, name, io.BytesIO(data), UploadOptions(dataset="vox", max_bytes=10**9))


def sound_of(earmark, sound_id: str) -> Sound:
    with earmark.db.read() as session:
        return SoundService(session, earmark.storage).get(sound_id)


def stored_objects(earmark) -> list[str]:
    return [o.key for o in earmark.storage.list("")]


# -- what a header claims ------------------------------------------------------------------------------

@needs_mp3
def test_blocks_run_on_past_a_lying_mp3_but_the_reader_stops_at_its_end():
    """The mechanism of the hole: soundfile.blocks() follows the header (3,000,000 MPEG frames: 30 hours) and
    yields full blocks past the 2 s of audio; decode.Reader checks each read and stops at the first short one."""
    data = lying_mp3(3_000_000)
    with sf.SoundFile(io.BytesIO(data)) as f:
        assert f.frames > 1_700_000_000
        yielded = 0
        for block in f.blocks(blocksize=65_536, dtype="int16"):
            yielded += len(block)
            if yielded > 10 * 32_000:
                break
        assert yielded > 10 * 32_000  # ten times the real audio, and it would go on for 30 hours
        f.seek(0)
        reader = decode.Reader(f, 0, f.frames, 65_536, "int16")
        assert 32_000 <= sum(len(b) for b in reader) < 33_000 and not reader.complete


@needs_mp3
def test_an_mp3_claiming_more_than_its_bytes_can_hold_is_refused_before_decoding(local_earmark, vox):
    data = lying_mp3(3_000_000)  # ~3.4 kB claiming 30 hours: the file (stored as a 30-h sound on main)
    result = ingest(local_earmark, vox, "lie.mp3", data)
    assert result.status == "refused"
    assert result.reason == (f"lie.mp3 claims 107,999.912 s of audio, more than its {len(data):,} bytes can hold "
                             "as MP3 (refused).")
    assert stored_objects(local_earmark) == []


@needs_mp3
def test_an_mp3_claiming_more_than_it_holds_within_its_size_is_refused_as_truncated(local_earmark, vox):
    """Within what ~3.4 kB could hold (48 frames a byte), still a lie: the decoded length says so."""
    result = ingest(local_earmark, vox, "lie.mp3", lying_mp3(150))  # 150 MPEG frames of 576 samples, less the encoder's delay
    assert result.status == "refused"
    assert result.reason == "lie.mp3 is truncated: its header says 5.312 s, but only 2.019 s of audio are in the file."
    assert stored_objects(local_earmark) == []


@needs_mp3
def test_an_mp3_whose_length_is_an_estimate_is_stored_with_the_length_decoded(local_earmark, vox):
    """An MP3's header may be an estimate (a few frames more than decoding gives): within MP3_SLACK it is no
    lie, and the sound's length is what was decoded, so nothing reads past the end of its audio later."""
    data = bytearray(mp3_bytes(seconds=20.0))
    at, frames = xing_frames(data)
    data[at: at + 4] = (frames + 3).to_bytes(4, "big")
    with sf.SoundFile(io.BytesIO(bytes(data))) as f:
        declared = f.frames
    result = ingest(local_earmark, vox, "estimate.mp3", bytes(data))
    assert result.status == "stored", result.reason
    sound = sound_of(local_earmark, result.sound_id)
    assert sound.frames < declared and sound.frames == 320_303  # 20 s and the encoder's padding, as decoded
    assert sound.duration_seconds == pytest.approx(320_303 / 16_000)


def test_a_flac_claiming_more_samples_than_it_holds_is_refused(local_earmark, vox):
    data = lying_flac(100_000)  # 0.5 s of audio, a header saying 6.25 s (a 12.5-s sound on main at 8 kHz)
    result = ingest(local_earmark, vox, "lie.flac", data)
    assert result.status == "refused"
    assert result.reason.startswith("lie.flac is truncated: its header says 6.250 s, but its audio ends before ")
    assert stored_objects(local_earmark) == []
    assert ingest(local_earmark, vox, "honest.flac", wav_bytes(seconds=0.5, fmt="FLAC")).status == "stored"


def test_frames_are_capped_by_what_the_size_can_hold():
    info = decode.AudioInfo("WAV", "PCM_U8", 1_000_000, 1, 48_000_000)
    assert decode.frame_capacity(info, 46_000_000) == 46_000_000  # one byte a frame, the header counted generously
    assert decode.frame_capacity(decode.AudioInfo("WAV", "PCM_16", 16_000, 2, 1), 4_000) == 1_000
    assert decode.frame_capacity(decode.AudioInfo("FLAC", "PCM_16", 16_000, 1, 1), 1_000) == 1_000 * decode.PACKED_FRAMES_PER_BYTE
    assert decode.frame_capacity(decode.AudioInfo("MP3", "MPEG_LAYER_III", 16_000, 1, 1), 3_312) == 3_312 * 48
    with pytest.raises(ValidationError, match=r"^big.wav claims 48.000 s of audio, more than its 1,000 bytes can hold as WAV"):
        decode.check_capacity(info, 1_000, "big.wav")


def test_a_lying_flac_stored_before_uploads_were_measured_is_a_sentence_not_a_crash(local_earmark, vox):
    """A sound stored on main from the lying FLAC (its rows say 100,000 frames): its views and parts answer a
    ValidationError naming the file, never the decoder's LibsndfileError."""
    result = ingest(local_earmark, vox, "old.flac", wav_bytes(seconds=0.5, fmt="FLAC"))
    local_earmark.storage.put(result.key, lying_flac(100_000))
    with local_earmark.db.write() as session:
        session.execute(update(Sound).where(Sound.id == result.sound_id).values(frames=100_000, duration_seconds=6.25))
    sound = sound_of(local_earmark, result.sound_id)
    truncated = r"^old.flac is truncated: its header says 6.250 s, but its audio ends before "
    with pytest.raises(ValidationError, match=truncated):
        peaks.envelope(local_earmark.storage, sound.file.key, None, 0.0, 6.25)
    with pytest.raises(ValidationError, match=truncated):
        waveform.spectrogram_png(local_earmark.storage, sound, 0.0, 6.25, None)
    with pytest.raises(ValidationError, match=truncated):
        waveform.wav_part(local_earmark.storage, sound, 1.0, 6.0)
    assert waveform.spectrogram_png(local_earmark.storage, sound, 0.0, 0.4, None).startswith(b"\x89PNG")  # what is there still shows


# -- work bounded by samples, not seconds --------------------------------------------------------------

def test_the_spectrogram_of_an_8_bit_wav_at_1_mhz_holds_a_small_part_of_it(local_earmark, vox):
    """20 s at 1 MHz is inside the 120-s view limit: main read all 20 M samples as float32 (and their mean:
    ~160 MB for a 20 MB file). Now only the 600 windows are read: what it holds is the STFT of 600 x 512 samples
    (~6 MB, the same for any view), not the view."""
    data = u8_wav(seconds=20.0)
    sound = sound_of(local_earmark, ingest(local_earmark, vox, "bat.wav", data).sound_id)
    assert sound.frames == 20_000_000
    tracemalloc.start()
    try:
        image = waveform.spectrogram_png(local_earmark.storage, sound, 0.0, 20.0, None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert image.startswith(b"\x89PNG") and peak < 8 * 2**20, f"{peak:,} bytes held for a {len(data):,}-byte file"


def test_a_view_spectrogram_is_the_spectrogram_of_the_samples(local_earmark, vox):
    """Reading only the windows (by seeking when they are far apart, in runs when close) changes nothing."""
    rate = 16_000
    t = np.arange(90 * rate) / rate
    tone = 0.5 * np.sin(2 * np.pi * np.where(t < 45, 1000, 3000) * t)
    buffer = io.BytesIO()
    sf.write(buffer, np.stack([tone, 0.3 * tone], axis=1), rate, format="WAV", subtype="PCM_16")
    sound = sound_of(local_earmark, ingest(local_earmark, vox, "tones.wav", buffer.getvalue()).sound_id)
    decoded = sf.read(io.BytesIO(buffer.getvalue()), dtype="float32", always_2d=True)[0]
    for start, end, channel in ((0.0, 90.0, None), (40.0, 50.0, 1), (10.0, 10.02, None), (44.9, 45.0, 0)):
        first, last = int(start * rate), int(np.ceil(end * rate))
        part = decoded[first:last]
        expected = waveform.spectrogram(part.mean(axis=1) if channel is None else part[:, channel], rate)
        got = waveform.view_spectrogram(local_earmark.storage, sound, start, end, channel)
        for a, b in zip(expected, got, strict=True):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValidationError, match="channel must be from 0 to 1"):
        waveform.view_spectrogram(local_earmark.storage, sound, 0.0, 1.0, 2)


def test_an_audio_part_is_encoded_a_read_at_a_time(local_earmark, vox):
    """The part is sent as it is encoded: what encoding holds at once is one read, not the part (main made the
    whole WAV in memory, with the part as float32 beside it)."""
    data = u8_wav(seconds=12.0)
    sound = sound_of(local_earmark, ingest(local_earmark, vox, "bat.wav", data).sound_id)
    part = waveform.wav_part(local_earmark.storage, sound, 0.0, 12.0)
    assert part.size == 44 + 2 * 12_000_000
    tracemalloc.start()
    try:
        sent, largest = 0, 0
        for chunk in part.chunks():
            sent += len(chunk)
            largest = max(largest, len(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sent == part.size and largest <= 2 * decode.READ_SAMPLES
    assert peak < 16 * decode.READ_SAMPLES, f"{peak:,} bytes held for a {sent:,}-byte part"  # 4 MB, for any part


def test_an_encoded_part_is_the_wav_libsndfile_writes(local_earmark, vox):
    rate = 8_000
    samples = (0.4 * np.sin(2 * np.pi * 50 * np.arange(30 * rate) / rate))[:, None] * [1.0, -0.5]
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    sound = sound_of(local_earmark, ingest(local_earmark, vox, "two.wav", buffer.getvalue()).sound_id)
    decoded = sf.read(io.BytesIO(buffer.getvalue()), dtype="float32", always_2d=True)[0][10 * rate: 12 * rate]
    for channel, mono in ((None, decoded.mean(axis=1)), (1, decoded[:, 1])):
        expected = io.BytesIO()
        sf.write(expected, mono, rate, format="WAV", subtype="PCM_16")
        assert b"".join(waveform.wav_part(local_earmark.storage, sound, 10.0, 12.0, channel).chunks()) == expected.getvalue()


def test_parts_are_limited_in_samples_not_only_seconds(local_earmark, vox, monkeypatch):
    """48 s at 1 MHz is inside the 10-minute limit but 48 M samples: as much as 8 minutes of 48 kHz stereo.
    The limit counts samples read (frames times channels)."""
    limit = getattr(waveform, "PLAY_MAX_SAMPLES", None)
    monkeypatch.setattr(waveform, "PLAY_MAX_SAMPLES", 3_000_000, raising=False)
    sound = sound_of(local_earmark, ingest(local_earmark, vox, "bat.wav", u8_wav(seconds=4.0)).sound_id)
    with pytest.raises(ValidationError) as refused:
        waveform.encode_part(local_earmark.storage, sound, 0.0, 4.0)
    assert str(refused.value) == "Parts of this sound longer than 3 s (3,000,000 samples) are not played here; zoom in."
    assert waveform.wav_part(local_earmark.storage, sound, 0.0, 2.9).size == 44 + 2 * 2_900_000
    assert limit == 600 * 48_000 * 2  # ten minutes of 48 kHz stereo


# -- a burst of decodes waits for its turn ----------------------------------------------------------------

def test_a_burst_of_views_decodes_a_few_at_a_time(local_earmark, vox, monkeypatch):
    """Twelve spectrograms asked for at once: at most DECODES_AT_ONCE reads of audio run together, the others
    wait (on main all twelve decoded at once, each holding its whole view). Every read is held at a gate until each
    of the twelve views is either reading or waiting for a slot, so what is counted depends on no thread's timing."""
    sound = sound_of(local_earmark, ingest(local_earmark, vox, "a.wav", wav_bytes(seconds=8.0)).sound_id)
    views, changed, gate = 12, threading.Condition(), threading.Event()
    reading, waiting, most = 0, 0, 0
    real_read, slots = sf.SoundFile.read, decode._DECODES

    class CountedSlots:  # the product's own semaphore, counting the threads that wait for it
        def __enter__(self) -> None:
            nonlocal waiting
            with changed:
                waiting += 1
                changed.notify_all()
            slots.acquire()
            with changed:
                waiting -= 1

        def __exit__(self, *exc: object) -> None:
            slots.release()

    def held_read(self, *args, **kwargs):
        nonlocal reading, most
        with changed:
            reading += 1
            most = max(most, reading)
            changed.notify_all()
        try:
            assert gate.wait(60), "the gate was never opened"
            return real_read(self, *args, **kwargs)
        finally:
            with changed:
                reading -= 1

    monkeypatch.setattr(decode, "_DECODES", CountedSlots())
    monkeypatch.setattr(sf.SoundFile, "read", held_read)
    errors: list[BaseException] = []

    def view() -> None:
        try:
            waveform.spectrogram_png(local_earmark.storage, sound, 0.0, 8.0, None)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=view) for _ in range(views)]
    for thread in threads:
        thread.start()
    try:
        with changed:  # every view at a read (held) or at the slots (blocked): nothing can move until the gate opens
            arrived = changed.wait_for(lambda: reading + waiting == views, timeout=60)
            at_once = (reading, waiting)
    finally:
        gate.set()
        for thread in threads:
            thread.join(60)
    assert arrived and at_once == (decode.DECODES_AT_ONCE, views - decode.DECODES_AT_ONCE), at_once
    assert not errors and most == decode.DECODES_AT_ONCE, (errors, most)
    assert decode.DECODES_AT_ONCE == 4
