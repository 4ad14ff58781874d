"""Splits (core.export.splits): shares met within one group's weight, no group across splits, the same seed the same
splits, stable as the dataset grows, stratified, by sounds or hours; stored as metadata; the leakage report on a
dataset built to leak (a speaker in two folders, one recording in two datasets, a repeated sentence)."""

from __future__ import annotations

import io
import random
from collections import Counter, defaultdict

import pytest
from sqlalchemy import select

from core.annotations.service import AnnotationService
from core.catalogue.search import CatalogueQuery
from core.errors import ValidationError
from core.export.splits import SplitRule, Weight, _Member, assign, leakage, parse_shares, place, shares_met
from core.ingest.pipeline import UploadOptions, ingest_audio
from core.store.models import SoundField
from tests.conftest import make_user, wav_bytes

SHARES = (("train", 0.8), ("dev", 0.1), ("test", 0.1))


def test_shares_are_read_or_refused_in_one_sentence():
    assert parse_shares("train=0.8, dev=0.1,test=0.1") == SHARES
    for text, message in {"train=0.8,dev=0.3": "must add up to 1, not 1.1", "train=1": "at least two splits",
                          "train=0.5,train=0.5": "only once", "tr ain=0.5,b=0.5": "must start with a letter",
                          "a=half,b=0.5": "must be a number, not 'half'", "a=0,b=1": "above 0"}.items():
        with pytest.raises(ValidationError, match=message):
            parse_shares(text)


def speakers(count: int, seed: int = 1, first: int = 0) -> list[_Member]:
    """Speakers with 1 to 60 utterances of 2 to 12 s each, half of them f."""
    rng = random.Random(seed)
    members = []
    for s in range(first, first + count):
        for u in range(rng.randint(1, 60)):
            members.append(_Member(f"{s}-{u}", rng.uniform(2, 12), None, {"speaker": f"id{s:05d}", "gender": "fm"[s % 2], "split": None}))
    return members


def shares(placement, members, key=lambda m: 1.0) -> dict[str, float]:
    weights = Counter()
    for m in members:
        weights[placement.splits[m.sound_id]] += key(m)
    total = sum(weights.values())
    return {name: weights[name] / total for name, _ in SHARES}


def test_groups_never_span_splits_and_shares_are_met_within_one_group():
    members = speakers(1000)
    rule = SplitRule(SHARES, group_by=("speaker",), seed=7)
    placement = place(members, rule)
    by_speaker = defaultdict(set)
    for m in members:
        by_speaker[m.values["speaker"]].add(placement.splits[m.sound_id])
    assert all(len(s) == 1 for s in by_speaker.values())
    largest = max(Counter(m.values["speaker"] for m in members).values()) / len(members)
    for name, share in shares(placement, members).items():
        assert abs(share - dict(SHARES)[name]) <= largest, (name, share)
    assert place(members, rule).splits == placement.splits  # the same seed, the same splits
    assert place(members, SplitRule(SHARES, group_by=("speaker",), seed=8)).splits != placement.splits


def test_adding_speakers_never_moves_a_placed_one():
    first = speakers(300)
    rule = SplitRule(SHARES, group_by=("speaker",), seed=3)
    before = place(first, rule)
    for m in first:  # stored, as assign() stores them
        m.values["split"] = before.splits[m.sound_id]
    grown = first + speakers(300, seed=2, first=300) + [_Member("0-new", 5.0, None, {"speaker": "id00000", "gender": "f", "split": None})]
    after = place(grown, rule)
    assert all(after.splits[m.sound_id] == before.splits[m.sound_id] for m in first)
    assert after.splits["0-new"] == before.groups[("id00000",)]  # a new sound joins its speaker's split
    assert after.new_groups == 300
    largest = max(Counter(m.values["speaker"] for m in grown).values()) / len(grown)
    for name, share in shares(after, grown).items():
        assert abs(share - dict(SHARES)[name]) <= 2 * largest


def test_stratified_by_gender_and_weighed_by_hours():
    members = speakers(800, seed=5)
    rule = SplitRule(SHARES, group_by=("speaker",), stratify="gender", weight=Weight.HOURS, seed=1)
    placement = place(members, rule)
    for gender in "fm":
        ours = [m for m in members if m.values["gender"] == gender]
        hours = lambda m: m.seconds  # noqa: E731
        largest = max(sum(m.seconds for m in ours if m.values["speaker"] == s) for s in {m.values["speaker"] for m in ours})
        for name, share in shares(placement, ours, hours).items():
            assert abs(share - dict(SHARES)[name]) <= largest / sum(m.seconds for m in ours), (gender, name, share)


def test_sounds_without_the_group_column_are_groups_of_their_own():
    members = speakers(20) + [_Member(f"lone{i}", 3.0, None, {"speaker": None, "gender": "f", "split": None}) for i in range(50)]
    placement = place(members, SplitRule(SHARES, group_by=("speaker",)))
    assert placement.own_groups == 50 and len({placement.splits[f"lone{i}"] for i in range(50)}) > 1


def _sound(earmark, user, path, dataset, fields, freq, text=None):
    result = ingest_audio(earmark.db, earmark.storage, user, path, io.BytesIO(wav_bytes(freq=freq)),
                          UploadOptions(dataset=dataset, max_bytes=10**8), fields)
    assert result.status == "stored", result
    if text:
        with earmark.db.write() as session:
            AnnotationService(session).create_many(user, result.sound_id, [{"start_seconds": 0.1, "end_seconds": 0.5, "text": text}])
    return result.sound_id


def test_assign_stores_splits_and_the_leakage_report_finds_what_leaks(local_earmark):
    earmark = local_earmark
    owner = make_user(earmark.db, "vox", "dataset")
    ids = {}
    for i in range(40):  # 8 speakers of 5 utterances; one speaker's folder spelled two ways (the leak of grouping by folder)
        speaker = f"id{i % 8:03d}"
        folder = "id000-b" if speaker == "id000" and i >= 20 else speaker
        ids[i] = _sound(earmark, owner, f"{folder}/{i:05d}.wav", "vox", {"speaker": speaker, "folder": folder}, 100 + 10 * i,
                        text="the same sentence" if i in (1, 2) else f"sentence {i}")
    copy = _sound(earmark, owner, "copy/00003.wav", "other", {"speaker": "id900", "folder": "copy"}, 100 + 10 * 3)  # sound 3's bytes

    rule = SplitRule((("train", 0.5), ("test", 0.5)), group_by=("speaker",), seed=11)
    with earmark.db.write() as session:
        placement = assign(session, CatalogueQuery(dataset="vox"), rule)
    assert placement.new_groups == 8 and placement.new_sounds == 40
    with earmark.db.read() as session:
        stored = dict(session.execute(select(SoundField.sound_id, SoundField.value).where(SoundField.name == "split")).all())
        report = leakage(session, CatalogueQuery(dataset="vox"), rule)
    assert stored == placement.splits
    assert report["groups_across_splits"]["count"] == 0  # by construction
    assert sum(s["sounds"] for s in report["splits"].values()) == 40 and shares_met(report, rule) == {"train": 0.5, "test": 0.5}
    with earmark.db.write() as session:  # again: nothing new, nothing moves
        assert assign(session, CatalogueQuery(dataset="vox"), rule).new_sounds == 0

    # the same sounds split by folder: speaker id000 spans two folders and may land in both splits
    by_folder = SplitRule((("train", 0.5), ("test", 0.5)), group_by=("folder",), seed=0, field="folder_split")
    with earmark.db.write() as session:
        assign(session, CatalogueQuery(), by_folder)
        # force the leaks the report must find: id000's two folders, sound 3 and its copy, sentences 1 and 2 apart
        for sound_id, split in ((ids[0], "train"), (ids[24], "test"), (ids[3], "train"), (copy, "test"), (ids[1], "train"), (ids[2], "test")):
            session.merge(SoundField(sound_id=sound_id, name="folder_split", value=split))
    with earmark.db.read() as session:
        by_speaker_view = SplitRule(by_folder.shares, group_by=("speaker",), field="folder_split")
        report = leakage(session, CatalogueQuery(), by_speaker_view)
    assert report["identical_audio_across_splits"]["count"] == 1
    assert report["identical_transcripts_across_splits"] == {"count": 1, "examples": [{
        "key": "the same sentence", "splits": ["test", "train"], "files": {"test": "vox/id002/00002.wav", "train": "vox/id001/00001.wav"}}]}
    assert report["groups_across_splits"]["count"] >= 1
    example = next(e for e in report["groups_across_splits"]["examples"] if e["key"] == "id000")
    assert example["splits"] == ["test", "train"] and all(f.startswith("vox/id000") for f in example["files"].values())


def test_export_split_writes_a_zip_per_split_and_the_leakage_report(local_earmark, tmp_path, capsys):
    import json
    import zipfile

    from core.cli import main

    owner = make_user(local_earmark.db, "vox", "dataset")
    for i in range(24):
        _sound(local_earmark, owner, f"id{i % 6:03d}/{i:05d}.wav", "vox", {"speaker": f"id{i % 6:03d}", "gender": "fm"[i % 2]}, 200 + 7 * i)
    args = ["export", "--dataset", "vox", "--split", "train=0.5,test=0.5", "--group-by", "speaker", "--stratify", "gender",
            "--seed", "3", "--to", str(tmp_path / "out"), "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Leakage: 0 groups, 0 identical recordings and 0 identical transcripts across splits" in out
    members = {name: [n for n in zipfile.ZipFile(tmp_path / "out" / f"{name}.zip").namelist() if n.startswith("audio/")]
               for name in ("train", "test")}
    speakers = {name: {n.split("/")[1] for n in names} for name, names in members.items()}
    assert not speakers["train"] & speakers["test"] and len(members["train"]) + len(members["test"]) == 24
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["split"]["group_by"] == ["speaker"] and manifest["placed_now"]["groups"] == 6
    assert manifest["exports"]["train"]["count_included"] == len(members["train"])

    for i in range(24, 36):  # the dataset grows: two new speakers, and new utterances of known ones
        _sound(local_earmark, owner, f"id{i % 8:03d}/{i:05d}.wav", "vox", {"speaker": f"id{i % 8:03d}", "gender": "fm"[i % 2]}, 200 + 7 * i)
    assert main([*args[:-2], str(tmp_path / "again"), "--quiet"]) == 0
    again = {name: {n for n in zipfile.ZipFile(tmp_path / "again" / f"{name}.zip").namelist() if n.startswith("audio/")}
             for name in ("train", "test")}
    assert set(members["train"]) <= again["train"] and set(members["test"]) <= again["test"]  # nobody moved
    assert json.loads((tmp_path / "again" / "manifest.json").read_text())["placed_now"]["groups"] == 2


def test_split_without_a_folder_is_refused_in_one_sentence(local_earmark, capsys):
    from core.cli import main

    assert main(["export", "--split", "train=0.8,test=0.2"]) == 1
    assert "--split and --to go together" in capsys.readouterr().err
    assert main(["export", "--split", "train=0.8,test=0.3", "--to", "x"]) == 1
    assert "must add up to 1, not 1.1" in capsys.readouterr().err


def test_a_split_of_nothing_says_so_and_writes_nothing(local_earmark, tmp_path, capsys):
    """No sound matches: one sentence, exit 1, and neither the folder nor a manifest (ZIPs per split, or formats)."""
    from core.cli import main

    owner = make_user(local_earmark.db, "vox", "dataset")
    _sound(local_earmark, owner, "id000/a.wav", "vox", {"speaker": "id000"}, 300)
    for extra in ([], ["--formats", "nemo"]):
        out = tmp_path / f"out{len(extra)}"
        assert main(["export", "--dataset", "nobody", "--split", "train=0.5,test=0.5", "--group-by", "speaker",
                     "--to", str(out), "--quiet", *extra]) == 1
        err = capsys.readouterr().err.strip()
        assert err.endswith("No sounds match these filters.") and len(err.splitlines()) == 1, err
        assert not out.exists()


def test_a_split_too_few_groups_reach_is_named_empty(local_earmark, tmp_path, capsys):
    from core.cli import main

    owner = make_user(local_earmark.db, "vox", "dataset")
    for i in range(4):
        _sound(local_earmark, owner, f"id{i % 2}/{i}.wav", "vox", {"speaker": f"id{i % 2}"}, 300 + 11 * i)
    assert main(["export", "--dataset", "vox", "--split", "train=0.5,dev=0.25,test=0.25", "--group-by", "speaker",
                 "--seed", "1", "--to", str(tmp_path / "out"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "test: empty, no ZIP written (share 0 of 0.25 asked" in out and "train: 2 files" in out and "dev: 2 files" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dev.zip", "manifest.json", "train.zip"]
