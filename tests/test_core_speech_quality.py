"""speech-quality (issue 29, item 2): DNSMOS and the SNR on speech-like audio at known noise levels, as a job with
a worker on either database, its fields in the API and in exports, and Browse's filter and sort on a field's number."""

from __future__ import annotations

import csv
import io
import threading
import zipfile

import numpy as np
import pytest

from core.annotations.service import AnnotationService
from core.catalogue.search import CatalogueQuery, parse_conditions, search
from core.errors import ConfigError, ValidationError
from core.export.subset import ExportRequest, export_to_file
from core.jobs.analyzers import dnsmos
from core.jobs.queue import JobService, analyzers, work
from core.store.models import SoundField
from tests import speechlike
from tests.analysis import api_client
from tests.conftest import make_user
from tests.test_core_jobs import stored

LEVELS = ("clean", "white 12 dB", "white 6 dB", "white 0 dB")  # cleanest first
NOMINAL_SNR = {"white 12 dB": 12.0, "white 6 dB": 6.0, "white 0 dB": 0.0}


def analyze(earmark, name, samples, rate=16_000, **params):
    sound = stored(earmark, name, samples, rate)
    analyzer = analyzers.get("speech-quality")
    return analyzer.run(earmark.storage, sound, analyzer.check(params))


def numbers(fields):
    return {k.removeprefix("speech_quality."): float(v) if v else None for k, v in fields.items()}


def test_noisier_speech_scores_lower_and_its_snr_is_measured(local_earmark):
    """The same utterances clean and in white noise at 12, 6 and 0 dB: BAK, OVRL and the SNR fall with each step;
    the SNR lands near the level the noise was mixed at (the loud utterances' power over the noise's)."""
    scored = [numbers(analyze(local_earmark, f"{i}.wav", speechlike.recording(3, level, seconds=12.0).samples).fields)
              for i, level in enumerate(LEVELS)]
    assert set(scored[0]) == {"sig", "bak", "ovrl", "snr_db"}
    for name in ("bak", "ovrl", "snr_db"):
        values = [s[name] for s in scored]
        assert values == sorted(values, reverse=True) and len(set(values)) == 4, (name, values)
    assert all(1 <= s[name] <= 5 for s in scored for name in ("sig", "bak", "ovrl"))
    assert scored[0]["snr_db"] > 40  # the clean one has noise 60 dB under its speech
    for s, level in zip(scored[1:], LEVELS[1:], strict=True):
        assert s["snr_db"] == pytest.approx(NOMINAL_SNR[level], abs=2.5), level


def test_a_resampled_stereo_file_scores_as_its_16_khz_mono(local_earmark):
    """The analyzer reads any rate and channel count: the same speech at 48 kHz in two channels scores within a
    small margin of the 16 kHz original (the difference is the resampling filter)."""
    from scipy.signal import resample_poly

    clean = speechlike.recording(5, "white 6 dB", seconds=10.0).samples
    high = resample_poly(clean, 3, 1).astype(np.float32)
    a = numbers(analyze(local_earmark, "a.wav", clean).fields)
    b = numbers(analyze(local_earmark, "b.wav", np.stack([high, high], axis=1), rate=48_000).fields)
    for name in ("sig", "bak", "ovrl"):
        assert b[name] == pytest.approx(a[name], abs=0.1)
    assert b["snr_db"] == pytest.approx(a["snr_db"], abs=1.0)


def test_pieces_give_the_whole_signals_windows_and_short_sounds_one():
    """Fed in odd pieces, the scorer takes the windows the reference would (one per hop while ceil(i * hop + 9.01)
    whole seconds are there) and scores what scoring the whole signal at once does."""
    samples = speechlike.recording(7, "pink 6 dB", seconds=19.5).samples
    whole = dnsmos.scores(samples, hop_seconds=3.0)
    scorer = dnsmos.Scorer(3.0)
    for at in range(0, samples.size, 37_111):
        scorer.feed(samples[at: at + 37_111])
    pieces = scorer.finish()
    assert whole is not None and pieces is not None
    assert whole.windows == pieces.windows == int((np.floor(samples.size / 16_000) - 9.01) / 3.0) + 1 == 4
    assert (pieces.sig, pieces.bak, pieces.ovrl) == pytest.approx((whole.sig, whole.bak, whole.ovrl), abs=1e-6)
    short = dnsmos.scores(samples[: 2 * 16_000])
    assert short is not None and short.windows == 1
    assert dnsmos.scores(np.zeros(0, np.float32)) is None


def test_noise_alone_has_scores_but_no_snr(local_earmark):
    """Nobody speaks: DNSMOS still scores the sound (low), the SNR has no speech to measure and is left empty."""
    fields = analyze(local_earmark, "noise.wav", speechlike.no_speech(2, "white", seconds=4.0)).fields
    assert fields["speech_quality.snr_db"] == "" and 1 <= float(fields["speech_quality.bak"]) < 2.5


def test_segments_are_scored_as_suggestions_when_asked(local_earmark):
    recording = speechlike.recording(11, "white 12 dB", seconds=12.0)
    output = analyze(local_earmark, "s.wav", recording.samples, segments="yes")
    assert output.segments and all(s.tags == ["speech-quality"] for s in output.segments)
    assert all(s.text.startswith("SIG ") and " · OVRL " in s.text and s.text.endswith(" dB") for s in output.segments)
    assert len(speechlike.matches([(s.start, s.start + s.duration) for s in output.segments], recording.truth)) >= len(recording.truth) - 1
    assert not analyze(local_earmark, "t.wav", recording.samples).segments  # not unless asked


def test_the_job_writes_fields_that_the_api_and_exports_carry(local_earmark, tmp_path):
    """A job over a clean and a noisy sound, run by a worker, on SQLite or PostgreSQL: the four fields per sound,
    the noisy one ranked lower, in GET /api/v1/sounds/{id} and in the subset's filtered_metadata.csv."""
    earmark = local_earmark
    clean = stored(earmark, "clean.wav", speechlike.recording(3, "clean", seconds=10.0).samples)
    noisy = stored(earmark, "noisy.wav", speechlike.recording(3, "white 0 dB", seconds=10.0).samples)
    hal = make_user(earmark.db, "hal")
    with earmark.db.write() as session:
        job_id = JobService(session).submit(hal, "speech-quality", sound_ids=[clean.id, noisy.id], params={"segments": "yes"}).id
    assert work(earmark.db, earmark.storage, threading.Event(), once=True) == 1
    with earmark.db.read() as session:
        job = JobService(session).get(job_id)
        assert (job.state, job.done, job.failed, job.output["fields"]) == ("completed", 2, 0, 8)
        suggested = AnnotationService(session).of_sound(noisy.id)
    assert suggested and all(a.tag_names == ["speech-quality"] for a in suggested)

    api, auth = api_client("hal")
    shown = {s.id: api.get(f"/api/v1/sounds/{s.id}", headers=auth).json()["metadata"] for s in (clean, noisy)}
    assert all(set(m) >= {"speech_quality.sig", "speech_quality.bak", "speech_quality.ovrl", "speech_quality.snr_db"}
               for m in shown.values())
    assert float(shown[clean.id]["speech_quality.ovrl"]) > float(shown[noisy.id]["speech_quality.ovrl"])
    assert float(shown[clean.id]["speech_quality.snr_db"]) > float(shown[noisy.id]["speech_quality.snr_db"]) + 20

    export_to_file(earmark.db, earmark.storage, ExportRequest(CatalogueQuery(dataset="lab"), count=10), tmp_path / "out.zip")
    rows = list(csv.DictReader(io.StringIO(zipfile.ZipFile(tmp_path / "out.zip").read("filtered_metadata.csv").decode())))
    by_file = {r["file_name"]: r for r in rows}
    assert by_file["audio/clean.wav"]["speech_quality.bak"] == shown[clean.id]["speech_quality.bak"]
    assert by_file["audio/noisy.wav"]["speech_quality.snr_db"] == shown[noisy.id]["speech_quality.snr_db"]


def test_browse_filters_and_sorts_by_a_fields_number(local_earmark):
    """Ranges and the sort read a field's text as a number on either database: '10' sorts after '9', a value that
    is no number (or empty) neither matches a range nor stops the query, and sounds without the field come last
    whichever the direction; pages of two walk every sound once."""
    earmark = local_earmark
    ids = [stored(earmark, f"{i}.wav", np.full(1600, 0.01 * (i + 1), np.float32)).id for i in range(6)]
    values = {ids[0]: "3.5", ids[1]: "10", ids[2]: "9", ids[3]: "-2.25", ids[4]: "n/a"}  # ids[5]: no field
    with earmark.db.write() as session:
        session.add_all([SoundField(sound_id=i, name="speech_quality.snr_db", value=v) for i, v in values.items()])
        session.add_all([SoundField(sound_id=i, name="note", value="abc") for i in ids])
    viewer = make_user(earmark.db, "hal")

    def walk(**spec):
        found, cursor = [], None
        with earmark.db.read() as session:
            while True:
                page = search(session, CatalogueQuery(dataset="lab", **spec), viewer, page_size=2, cursor=cursor)
                found += [s.id for s in page.items]
                if not (cursor := page.next_cursor):
                    return found

    assert walk(sort="field:speech_quality.snr_db") == [ids[3], ids[0], ids[2], ids[1], *sorted([ids[4], ids[5]])]
    assert walk(sort="field:speech_quality.snr_db", descending=True) == [ids[1], ids[2], ids[0], ids[3], *sorted([ids[4], ids[5]], reverse=True)]
    where, ranges = parse_conditions(["speech_quality.snr_db>=3.5", "note=abc"])
    assert walk(where=where, ranges=ranges) == sorted([ids[0], ids[1], ids[2]])
    assert walk(ranges=parse_conditions(["speech_quality.snr_db < 0", "note<1"])[1]) == []  # 'abc' is no number
    assert walk(ranges=parse_conditions(["speech_quality.snr_db<9"])[1], sort="field:speech_quality.snr_db") == [ids[3], ids[0]]


def test_conditions_are_parsed_and_a_bad_one_named():
    assert parse_conditions(["set=test", "speech_quality.ovrl >= 3", "a>b=c", "x<-1e3"]) == (
        (("set", "test"), ("a>b", "c")), (("speech_quality.ovrl", ">=", 3.0), ("x", "<", -1000.0)))
    with pytest.raises(ValidationError, match=r"'speech_quality.ovrl>=good': 'good' is not a number \(COLUMN>=NUMBER\)."):
        parse_conditions(["speech_quality.ovrl>=good"])
    with pytest.raises(ValidationError, match="sort must be one of"):
        CatalogueQuery(sort="field:").checked()



def test_a_damaged_model_is_named_and_the_job_says_so(local_earmark, monkeypatch, tmp_path):
    """The shipped model is checked against its checksum when it loads: a damaged copy fails the sound with one
    sentence naming the file (a ConfigError), never scores from a broken network."""
    assert dnsmos.session().get_inputs()[0].shape[1] == dnsmos.WINDOW  # the real file
    damaged = tmp_path / "dnsmos_sig_bak_ovr.onnx"
    damaged.write_bytes(dnsmos.MODEL.read_bytes()[:-10])
    monkeypatch.setattr(dnsmos, "MODEL", damaged)
    dnsmos.session.cache_clear()
    try:
        with pytest.raises(ConfigError, match=f"The speech quality model {damaged} is missing or damaged: reinstall Earmark."):
            analyze(local_earmark, "a.wav", speechlike.recording(1, "clean", seconds=3.0).samples)
    finally:
        dnsmos.session.cache_clear()


def test_a_sound_without_audio_is_named(local_earmark):
    from core.store.models import Sound

    analyzer = analyzers.get("speech-quality")
    with pytest.raises(ValidationError, match="gone.wav has no stored audio to analyze."):
        analyzer.run(local_earmark.storage, Sound(path="gone.wav", dataset="lab", sample_rate=None, duration_seconds=1.0,
                                                  channels=1), analyzer.check({}))
    with pytest.raises(ValidationError, match="hop_seconds must be from 1 to 9, not 0.5."):
        analyzer.check({"hop_seconds": 0.5})


def test_where_lists_that_take_only_equalities_refuse_a_range_by_name():
    """The command line's and the API's --where take COLUMN=VALUE only: 'speech_quality.ovrl>=3' read as the
    column 'speech_quality.ovrl>' equal to 3 matched nothing, silently."""
    from core.catalogue.search import parse_where

    assert parse_where(["a>b=c"]) == (("a>b", "c"),)
    with pytest.raises(ValidationError, match=r"'speech_quality.ovrl>=3' compares a number, which only Browse's filters take here"):
        parse_where(["speech_quality.ovrl>=3"])


def test_a_subset_link_carries_the_ranges_back():
    """Download shares Browse's filters; a subset link's request goes through JSON (lists) and must come back as
    the same query, ranges included."""
    import json

    from core.export.links import _payload, _request

    request = ExportRequest(CatalogueQuery(dataset="lab", ranges=(("speech_quality.bak", ">=", 3.0),), where=(("set", "dev"),)))
    assert _request(json.loads(json.dumps(_payload(request)))).query == request.query
