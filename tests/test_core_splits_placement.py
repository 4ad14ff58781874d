"""Where core/export/splits.py places sounds (the trial report's items 1, 2, 14 and 15): a group_by or stratify column
no matched sound has is refused before anything is stored; a stored split never moves, and --resplit starts over;
the split options without --split are refused; groups are placed largest first, so small groups fill small splits,
and a stratified tie goes to the split most behind overall."""

from __future__ import annotations

import io
import json
from collections import Counter, defaultdict

import pytest
from sqlalchemy import select

from core.catalogue.search import CatalogueQuery
from core.errors import ValidationError
from core.export.splits import SplitRule, _Member, assign, leakage, place
from core.ingest.pipeline import UploadOptions, ingest_audio
from core.store.models import SoundField
from tests.conftest import make_user, wav_bytes

SHARES = (("train", 0.8), ("dev", 0.1), ("test", 0.1))


def member(sound_id: str, split: str | None = None, **values: str) -> _Member:
    return _Member(sound_id, 1.0, None, {**values, "split": split})


def split_sizes(placement, members) -> Counter:
    return Counter(placement.splits[m.sound_id] for m in members)


def test_small_groups_fill_the_small_splits():
    """Four sessions of 30, 5, 1 and 1 sounds: largest first, train takes the 30 and dev and test the small ones
    (in the seeded order all four went to train)."""
    members = [member(f"{session}-{i}", session=session) for session, size in (("s0", 30), ("s1", 5), ("s2", 1), ("s3", 1))
               for i in range(size)]
    for seed in range(5):
        placement = place(members, SplitRule(SHARES, group_by=("session",), seed=seed))
        sizes = split_sizes(placement, members)
        assert placement.groups[("s0",)] == "train" and sizes["dev"] and sizes["test"], (seed, sizes)
        assert all(abs(sizes[name] / 37 - share) <= 5 / 37 for name, share in SHARES), sizes  # within one group


def trial_speakers() -> list[_Member]:
    """The trial's shape: 38 sounds of 12 speakers (spk00..spk11, 3 or 4 each), gender alternating."""
    return [member(f"spk{s:02d}-{u}", speaker_id=f"spk{s:02d}", gender="fm"[s % 2]) for s in range(12)
            for u in range(4 if s < 2 else 3)]


def test_stratified_by_gender_every_split_gets_a_speaker_and_ties_go_to_the_split_most_behind_overall():
    """12 speakers stratified by 2 genders: within each gender dev and test are equally behind once train is full;
    the second gender's tie goes to the split the first left behind, so test is not left empty (the trial met
    0.838/0.162/0.0)."""
    members = trial_speakers()
    for seed in range(8):
        placement = place(members, SplitRule(SHARES, group_by=("speaker_id",), stratify="gender", seed=seed))
        sizes = split_sizes(placement, members)
        assert all(sizes[name] for name, _ in SHARES), (seed, sizes)
        largest = 4 / 38
        assert all(abs(sizes[name] / 38 - share) <= largest for name, share in SHARES), (seed, sizes)
        by_speaker = defaultdict(set)
        for m in members:
            by_speaker[m.values["speaker_id"]].add(placement.splits[m.sound_id])
        assert all(len(splits) == 1 for splits in by_speaker.values())


def test_groups_of_equal_weight_are_ordered_by_the_seed():
    """Largest first, but among equals the seed still decides: reproducible, and another seed another placement."""
    members = [member(f"{s}-{u}", speaker=f"id{s:03d}") for s in range(40) for u in range(3)]
    rule = SplitRule(SHARES, group_by=("speaker",), seed=1)
    assert place(members, rule).splits == place(list(reversed(members)), rule).splits
    assert place(members, SplitRule(SHARES, group_by=("speaker",), seed=2)).splits != place(members, rule).splits


def test_a_stored_split_never_moves_even_where_its_group_disagrees():
    """A group whose stored sounds disagree (placed by another rule) keeps each where it is; its new sounds join its
    most common split. Before, every sound of the group moved to that split."""
    members = [member("a1", "test", speaker="a"), member("a2", "train", speaker="a"), member("a3", "train", speaker="a"),
               member("a4", None, speaker="a"), member("b1", "dev", speaker="b"), member("b2", "elsewhere", speaker="b")]
    placement = place(members, SplitRule(SHARES, group_by=("speaker",), seed=3))
    assert placement.splits == {"a1": "test", "a2": "train", "a3": "train", "a4": "train", "b1": "dev", "b2": "dev"}
    assert placement.new_sounds == 2 and placement.new_groups == 0 and placement.kept_groups == 2


def sound(earmark, owner, path: str, dataset: str, fields: dict[str, str], freq: float) -> str:
    result = ingest_audio(earmark.db, earmark.storage, owner, path, io.BytesIO(wav_bytes(seconds=0.2, freq=freq)),
                          UploadOptions(dataset=dataset, max_bytes=10**8), fields)
    assert result.status == "stored", result
    return result.sound_id


@pytest.fixture
def trial(local_earmark):
    """The trial's 'nostrat' dataset (12 speakers, 3 or 4 sounds each, column speaker_id) and 'other', the same
    speakers' sounds in another dataset, plus a sound with no speaker."""
    owner = make_user(local_earmark.db, "vox", "dataset")
    ids: dict[str, str] = {}
    for i, m in enumerate(trial_speakers()):
        speaker = m.values["speaker_id"]
        ids[m.sound_id] = sound(local_earmark, owner, f"{speaker}/{i}.wav", "nostrat", {"speaker_id": speaker, "gender": m.values["gender"]}, 100 + 9 * i)
        if i % 3 == 0:
            sound(local_earmark, owner, f"{speaker}/{i}.wav", "other", {"speaker_id": speaker}, 2000 + 9 * i)
    ids["lone"] = sound(local_earmark, owner, "lone.wav", "nostrat", {"gender": "f"}, 1700)
    return local_earmark, ids


def stored_splits(db) -> dict[str, str]:
    with db.read() as session:
        return dict(session.execute(select(SoundField.sound_id, SoundField.value).where(SoundField.name == "split")).all())


def test_a_column_no_matched_sound_has_is_refused_before_anything_is_stored(trial):
    earmark, _ = trial
    for rule, column, option, role in ((SplitRule(SHARES, group_by=("speaker",)), "speaker", "group_by", "group by"),
                                       (SplitRule(SHARES, group_by=("speaker_id",), stratify="gendr"), "gendr", "stratify", "stratify by")):
        with pytest.raises(ValidationError) as caught, earmark.db.write() as session:
            assign(session, CatalogueQuery(dataset="nostrat"), rule)
        assert caught.value.field == option
        assert str(caught.value) == (f"No sound these filters match has a value in the column {column!r} to {role}; "
                                     "their columns are: gender, speaker_id.")
        assert stored_splits(earmark.db) == {}
    with pytest.raises(ValidationError, match="column 'gender' .*their columns are: speaker_id"), earmark.db.write() as session:
        assign(session, CatalogueQuery(dataset="other"), SplitRule(SHARES, stratify="gender"))  # another dataset has it
    with earmark.db.write() as session:  # an existing column: the one sound without a value is a group of its own
        placement = assign(session, CatalogueQuery(dataset="nostrat"), SplitRule(SHARES, group_by=("speaker_id",)))
    assert placement.own_groups == 1 and placement.new_groups == 13 and len(stored_splits(earmark.db)) == 39


def test_a_wider_export_keeps_every_stored_split_and_resplit_starts_over(trial):
    """The trial's item 2: 'nostrat' placed by speaker, 'other' placed with no group (every sound its own), then
    both at once by speaker: every stored split stays (the report shows the speakers now across splits), where
    before each speaker's sounds moved to its most common split. --resplit forgets the matched sounds' splits (and
    only theirs) and places them all anew, leaking nothing."""
    earmark, ids = trial
    by_speaker = SplitRule(SHARES, group_by=("speaker_id",), seed=7)
    with earmark.db.write() as session:
        assign(session, CatalogueQuery(dataset="nostrat"), by_speaker)
        assign(session, CatalogueQuery(dataset="other"), SplitRule(SHARES, seed=7))
    before = stored_splits(earmark.db)
    with earmark.db.write() as session:
        placement = assign(session, CatalogueQuery(), by_speaker)
    assert placement.new_sounds == 0 and stored_splits(earmark.db) == before
    with earmark.db.read() as session:
        report = leakage(session, CatalogueQuery(), by_speaker)
    assert report["groups_across_splits"]["count"] > 0  # honest: the two rules disagree

    with earmark.db.write() as session:  # start over, but only for the 'other' dataset
        assign(session, CatalogueQuery(dataset="other"), SplitRule(SHARES, seed=8, resplit=True, field="split"))
    after = stored_splits(earmark.db)
    assert {k: v for k, v in after.items() if k in ids.values()} == {k: v for k, v in before.items() if k in ids.values()}
    with earmark.db.write() as session:
        assign(session, CatalogueQuery(), SplitRule(SHARES, group_by=("speaker_id",), seed=7, resplit=True))
        report = leakage(session, CatalogueQuery(), by_speaker)
    assert report["groups_across_splits"]["count"] == 0 and all(report["splits"][name]["sounds"] for name, _ in SHARES)


def test_two_exports_placing_the_same_new_sounds_at_once_keep_the_first_stored_split(trial):
    """Export A reads the unplaced sounds; export B places and stores them (another seed) before A stores: A's
    store keeps B's splits (its upsert does not overwrite a split of the rule's), so the splits on disk are one
    export's, never a mix that moves sounds B already wrote into its ZIPs. A value outside the rule's names (an
    imported 'valid') is still replaced."""
    from core.export.splits import _members, store

    earmark, ids = trial
    query, first = CatalogueQuery(dataset="nostrat"), SplitRule(SHARES, group_by=("speaker_id",), seed=1)
    with earmark.db.read() as session:
        read_by_a = _members(session, query, None, first)
    with earmark.db.write() as session:
        session.merge(SoundField(sound_id=ids["lone"], name="split", value="valid"))
    with earmark.db.write() as session:
        assign(session, query, SplitRule(SHARES, group_by=("speaker_id",), seed=2))
    stored_by_b = stored_splits(earmark.db)
    placed_by_a = place(read_by_a, first)
    assert any(placed_by_a.splits[k] != v for k, v in stored_by_b.items())  # A would move some of B's sounds
    with earmark.db.write() as session:
        store(session, read_by_a, placed_by_a, first)
    assert stored_splits(earmark.db) == stored_by_b
    with earmark.db.write() as session:
        session.merge(SoundField(sound_id=ids["lone"], name="split", value="valid"))
    with earmark.db.write() as session:
        assign(session, query, first)
    assert stored_splits(earmark.db)[ids["lone"]] in {name for name, _ in SHARES}


def test_the_command_line_refuses_a_missing_column_and_split_options_without_a_split(trial, tmp_path, capsys):
    from core.cli import main

    earmark, _ = trial
    out = tmp_path / "out"
    for extra, column in ((["--group-by", "speaker"], "speaker"), (["--group-by", "speaker_id", "--stratify", "gendr"], "gendr")):
        for formats in ([], ["--formats", "nemo"]):
            assert main(["export", "--dataset", "nostrat", "--split", "train=0.8,dev=0.1,test=0.1", *extra, "--seed", "7",
                         "--to", str(out), "--quiet", *formats]) == 1
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1 and f"column {column!r}" in err and err.endswith("gender, speaker_id."), err
            assert not out.exists() and stored_splits(earmark.db) == {}
    for extra in (["--group-by", "speaker_id"], ["--stratify", "gender"], ["--split-by", "hours"], ["--resplit"],
                  ["--group-by", "speaker_id", "--resplit"]):
        assert main(["export", "--dataset", "nostrat", *extra, "--out", str(tmp_path / "x.zip")]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"{extra[0]}" in err and "add --split NAME=SHARE" in err, err
        assert not (tmp_path / "x.zip").exists()


def test_the_command_line_counts_sounds_without_a_group_value_and_resplit_starts_over(trial, tmp_path, capsys):
    """The trial's mistake and its way out: by sound first (each its own group), then by speaker keeps those splits
    (speakers across splits, said so); --resplit places every sound again, no speaker in two splits."""
    from core.cli import main

    args = ["export", "--dataset", "nostrat", "--split", "train=0.8,dev=0.1,test=0.1", "--seed", "7", "--quiet"]
    assert main([*args, "--to", str(tmp_path / "a")]) == 0
    capsys.readouterr()
    assert main([*args, "--group-by", "speaker_id", "--to", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "1 sound has no value in --group-by speaker_id: it was placed as a group of its own." in out
    assert "Leakage: 0 groups," not in out
    assert main([*args, "--group-by", "speaker_id", "--resplit", "--to", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "Leakage: 0 groups," in out and "empty" not in out, out
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["split"]["resplit"] is True and manifest["placed_now"]["groups"] == 13


def test_the_api_refuses_a_missing_column_and_resplits(trial):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from core.accounts import credentials as apiauth
    from core.api import deps
    from core.api.app import routes
    from tests.test_core_api import basic

    earmark, _ = trial
    deps.earmark.cache_clear()
    apiauth.BASIC_CACHE.entries.clear()
    make_user(earmark.db, "hal")
    api = TestClient(Starlette(routes=routes()))
    base = "/api/v1/download?dataset=nostrat&seed=7&split=train=0.8,dev=0.1,test=0.1"
    for query, column in (("&group_by=nosuchcol", "nosuchcol"), ("&group_by=speaker_id&stratify=gendr", "gendr"),
                          ("&group_by=speaker_id&formats=nemo&stratify=gendr", "gendr")):
        response = api.get(base + query, headers=basic("hal"))
        assert response.status_code == 400 and f"column {column!r}" in response.json()["error"], response.text
    from core.accounts.users import UserService
    from core.export.links import LinkedExport, subset_link
    from core.export.subset import ExportRequest

    with earmark.db.read() as session:  # a signed link (the Download page's) carrying a column the sounds lack
        hal = UserService(session).by_name("hal")
        link = subset_link(earmark.settings, LinkedExport(ExportRequest(CatalogueQuery(dataset="nostrat"), seed=7),
                                                          SplitRule(SHARES, group_by=("speaker",))), hal)
    linked = api.get(link)
    assert linked.status_code == 400 and "column 'speaker' to group by" in linked.json()["error"], linked.text
    assert stored_splits(earmark.db) == {}
    assert api.get(base, headers=basic("hal")).status_code == 200  # each sound its own group
    first = stored_splits(earmark.db)
    kept = api.get(base + "&group_by=speaker_id", headers=basic("hal"))
    assert kept.status_code == 200 and stored_splits(earmark.db) == first
    again = api.get(base + "&group_by=speaker_id&resplit=true", headers=basic("hal"))
    import zipfile

    manifest = json.loads(zipfile.ZipFile(io.BytesIO(again.content)).read("manifest.json"))
    assert manifest["leakage"]["groups_across_splits"]["count"] == 0 and manifest["split"]["resplit"] is True
    lone = api.get("/api/v1/download?dataset=nostrat&count=5&group_by=speaker_id", headers=basic("hal"))
    assert lone.status_code == 400 and lone.json()["error"].startswith("group_by only shapes a split: add split"), lone.text
    both = api.get("/api/v1/download?dataset=nostrat&stratify=gender&resplit=true", headers=basic("hal"))
    assert both.status_code == 400 and "stratify, resplit only shape a split" in both.json()["error"], both.text


def test_the_download_page_names_a_column_the_matching_sounds_lack(local_earmark):
    """The page offers every dataset's columns; filtered to sounds without the chosen one, it says so (one sentence
    naming the column and the columns they have) and shows no link."""
    from core.api import deps
    from core.ingest.demo import load_demo
    from tests.conftest import app_test, login, shown
    from tests.test_pages_download import PAGE, link_of

    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10**8)
    owner = make_user(local_earmark.db, "vox", "dataset")
    sound(local_earmark, owner, "s1.wav", "sessions", {"session": "s1"}, 300)
    make_user(local_earmark.db, "hal")
    deps.earmark.cache_clear()
    at = login(app_test(PAGE), "hal")
    at.text_input(key="dl_where").input("set=dev")
    at.radio(key="dl_mode").set_value("splits").run()
    at.multiselect(key="dl_split_group_by").set_value(["session"]).run()
    assert not at.exception
    errors = [shown(e.value) for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("No sound these filters match has a value in the column 'session'"), errors
    assert "speaker_id" in errors[0] and link_of(at) is None
