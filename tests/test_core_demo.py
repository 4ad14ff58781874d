import csv

import numpy as np
import soundfile as sf

from core.catalogue.sounds import SoundFilter, SoundService
from core.catalogue.stats import catalogue_stats
from core.ingest.demo import load_demo, write_demo_files


def test_demo_files_follow_the_voxceleb_layout_and_carry_their_onsets(tmp_path):
    csv_path = write_demo_files(tmp_path)
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == 32
    wavs = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "audio").rglob("*.wav"))
    assert wavs == sorted(r["path"] for r in rows)
    assert all(p.split("/")[1].startswith("id000") and p.endswith(".wav") and len(p.split("/")) == 4 for p in wavs)
    assert {r["pattern"] for r in rows} == {"rock", "four-on-the-floor", "half-time", "tones"}
    row = rows[0]
    samples, rate = sf.read(tmp_path / row["path"])
    onsets = [float(t) for t in row["onsets"].split(";")]
    assert rate == 16_000 and len(samples) == int(float(row["duration_seconds"]) * rate)
    # there is real energy right after each known onset and the clip is not silence
    frame = int(0.02 * rate)
    noise = 0.002  # the room-noise level the demo adds
    for onset in onsets[:6]:
        start = int(onset * rate)
        assert np.sqrt(np.mean(samples[start:start + frame] ** 2)) > 10 * noise


def test_demo_is_reproducible(tmp_path):
    a, b = write_demo_files(tmp_path / "a"), write_demo_files(tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()
    first = next((tmp_path / "a" / "audio").rglob("*.wav"))
    assert first.read_bytes() == (tmp_path / "b" / first.relative_to(tmp_path / "a")).read_bytes()


def test_loading_the_demo_twice_stores_it_once(earmark):
    first = load_demo(earmark.db, earmark.storage, max_bytes=10 * 1024 * 1024)
    assert first.line() == "32 stored, 0 already there, 0 refused"
    assert load_demo(earmark.db, earmark.storage, max_bytes=10 * 1024 * 1024).count("duplicate") == 32
    with earmark.db.read() as session:
        stats = catalogue_stats(session)
        sounds = SoundService(session, earmark.storage).list(filters=SoundFilter(dataset="demo", tags=("demo",))).items
    assert stats.sounds == 32 and stats.files == 32 and stats.users_by_type["dataset"] == 1  # short clips: no pyramids
    first = next(s for s in sounds if s.path.startswith("id00001/"))
    assert first.metadata_dict["speaker_id"] == "id00001" and first.metadata_dict["onsets"]
    assert all(s.metadata_dict["speaker_id"] == s.path.split("/")[0] for s in sounds)  # every row joined to its file
