"""Agreement figures (core/team/agreement.py, core/team/matching.py) on a small example worked out by hand below:
a partial overlap, a missed segment, a split segment and a transcript with one wrong word; then the edges (people
who never overlap, one person only, no tags), machine suggestions left out, and the gold version."""

from __future__ import annotations

import csv
import io
import json
from typing import NamedTuple

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import update
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.accounts import credentials as apiauth
from core.annotations.service import AnnotationService
from core.api import deps
from core.api.app import routes
from core.catalogue.sounds import SoundService
from core.context import Earmark
from core.errors import NotFound
from core.store.db import Database
from core.store.models import Annotation, User
from core.team import matching
from core.team.agreement import GOLD, agreement, rows, sound_figures
from tests.conftest import make_user
from tests.test_core_api import basic
from tests.test_core_cli import run, with_path

TEN_SECONDS = 10.0


def _sound(earmark: Earmark, owner: User, dataset: str, title: str, duration: float = TEN_SECONDS) -> str:
    with earmark.db.write() as session:
        return SoundService(session, earmark.storage).create_reference(owner, title=title, duration_seconds=duration, dataset=dataset).id


def _regions(db: Database, who: User, sound_id: str, *regions: tuple, source: str | None = None) -> list[str]:
    """Regions as (start, end, tags[, text]), saved by the product's own service."""
    with db.write() as session:
        service = AnnotationService(session)
        made = [service.create(who, sound_id, start_seconds=r[0], end_seconds=r[1], tags=list(r[2]),
                               text=r[3] if len(r) > 3 else None, source=source) for r in regions]
        return [a.id for a in made]


def _gold(db: Database, ids: list[str]) -> None:
    """Mark a reviewer's copies as the gold version (what core/team/review.py's accept does)."""
    with db.write() as session:
        session.execute(update(Annotation).where(Annotation.id.in_(ids)).values(is_gold=True))


class Team(NamedTuple):
    earmark: Earmark
    owner: User
    alice: User
    bob: User


@pytest.fixture
def people(local_earmark, db):
    return Team(local_earmark, make_user(db, "owner", "dataset"), make_user(db, "alice"), make_user(db, "bob"))


def _kappa(a_marked: int, b_marked: int, both: int, frames: int) -> float:
    """Cohen's kappa by its definition: observed agreement against agreement by chance."""
    observed = (both + (frames - a_marked - b_marked + both)) / frames
    pa, pb = a_marked / frames, b_marked / frames
    chance = pa * pb + (1 - pa) * (1 - pb)
    return (observed - chance) / (1 - chance)


def _hand_example(db, people) -> str:
    """Alice: 1.0-3.0 speech "the cat sat", 4.0-6.0 speech, 7.0-8.0 music.
    Bob:   1.5-3.0 speech "the cat sit" (a partial overlap: IoU 1.5/2 = 0.75, and one wrong word),
           4.0-5.2 and 5.2-6.0 speech (alice's 4-6 split in two: IoU 0.6 and 0.4, so only the first matches),
           no music (a missed segment)."""
    _earmark, owner, alice, bob = people
    sound = _sound(people.earmark, owner, "birds", "one.wav")
    _regions(db, alice, sound, (1.0, 3.0, ["speech"], "the cat sat"), (4.0, 6.0, ["speech"]), (7.0, 8.0, ["music"]))
    _regions(db, bob, sound, (1.5, 3.0, ["speech"], "the cat sit"), (4.0, 5.2, ["speech"]), (5.2, 6.0, ["speech"]))
    return sound


def test_the_figures_of_a_small_example_are_the_ones_worked_out_by_hand(db, people):
    sound = _hand_example(db, people)
    with db.read() as session:
        result = agreement(session, "birds")
    # Overall (time alone): alice 3 regions, bob 3, matched 2 (1-3 with 1.5-3, 4-6 with 4-5.2).
    figures = result.overall
    assert (figures.regions_first, figures.regions_second, figures.matched) == (3, 3, 2)
    assert figures.segment_f1 == pytest.approx(2 * 2 / (3 + 3))
    assert figures.start_ms == pytest.approx((500 + 0) / 2)  # |1.0-1.5|, |4.0-4.0|
    assert figures.end_ms == pytest.approx((0 + 800) / 2)  # |3.0-3.0|, |6.0-5.2|
    assert figures.wer == pytest.approx(1 / 3) and figures.transcripts == 1  # "sat" for "sit", of 3 words
    # Per tag: speech alice 2, bob 3, matched 2; music alice 1, bob 0.
    speech, music = (next(t for t in figures.tags if t.tag == name) for name in ("speech", "music"))
    assert (speech.regions_first, speech.regions_second, speech.matched) == (2, 3, 2)
    assert speech.segment_f1 == pytest.approx(0.8) and speech.start_ms == pytest.approx(250) and speech.end_ms == pytest.approx(400)
    assert (music.regions_first, music.regions_second, music.matched, music.segment_f1, music.start_ms) == (1, 0, 0, 0.0, None)
    # Frames (10 ms, 1,000 in 10 s): speech alice 100-299 and 400-599 (400), bob 150-299 and 400-599 (350), both 350.
    assert speech.kappa == pytest.approx(_kappa(400, 350, 350, 1000))
    assert speech.kappa == pytest.approx(0.42 / 0.47)  # observed 0.95, chance 0.4 x 0.35 + 0.6 x 0.65 = 0.53
    # music: alice marks 100 frames, bob none: no agreement beyond chance.
    assert music.kappa == pytest.approx(0.0)
    assert figures.kappa == {"music": music.kappa, "speech": speech.kappa}
    assert [(p.first, p.second) for p in result.pairs] == [("alice", "bob")] and result.pairs[0].figures == figures
    assert result.people == ("alice", "bob") and result.sounds == 1 and result.gold == ()
    with db.read() as session:
        [only] = list(sound_figures(session, "birds"))
    assert (only.sound_id, only.path, only.first, only.second, only.figures) == (sound, "one.wav", "alice", "bob", figures)
    assert [w.sound_id for w in result.worst] == [sound]


def test_frame_kappa_is_scikit_learns_on_the_frames_themselves(db, people):
    """The counts-based kappa (core/team/matching.py) against scikit-learn's, given one label per 10 ms frame."""
    _hand_example(db, people)
    with db.read() as session:
        result = agreement(session, "birds")
    frames = np.arange(1000)
    middle = (frames + 0.5) * matching.FRAME_SECONDS

    def marked(*spans: tuple[float, float]) -> np.ndarray:
        labels = np.zeros(frames.size, dtype=bool)
        for start, end in spans:
            labels |= (middle >= start) & (middle < end)
        return labels

    alice = marked((1.0, 3.0), (4.0, 6.0))
    bob = marked((1.5, 3.0), (4.0, 5.2), (5.2, 6.0))
    assert result.overall.kappa["speech"] == pytest.approx(cohen_kappa_score(alice, bob))
    assert result.overall.kappa["music"] == pytest.approx(cohen_kappa_score(marked((7.0, 8.0)), marked()))


def test_kappa_pools_frames_over_sounds_and_is_none_where_undefined():
    both, only_a, only_b = np.array([350.0, 0.0]), np.array([50.0, 0.0]), np.array([0.0, 0.0])
    kappas = matching.kappa(both, only_a, only_b, np.array([1000.0, 1000.0]))
    assert kappas[0] == pytest.approx(0.42 / 0.47) and np.isnan(kappas[1])


def test_matching_takes_the_most_matches_not_the_best_single_one():
    """Greedy by IoU pairs A1 with B1 (0.9) and leaves A2 without a partner; the optimum matches both."""
    overlap = np.array([[0.9, 0.6], [0.55, 0.0]])
    rows_, cols = matching.match(overlap)
    assert sorted(zip(rows_.tolist(), cols.tolist(), strict=True)) == [(0, 1), (1, 0)]
    assert matching.match(np.array([[0.49]]))[0].size == 0  # below IoU 0.5: no match
    assert matching.match(np.zeros((0, 3)))[0].size == 0


def test_covered_frames_merge_overlaps_within_a_group_only():
    groups = np.array([0, 0, 1, 1, 2])
    first, stop = np.array([0, 5, 3, 20, 7]), np.array([10, 12, 4, 25, 7])
    assert matching.covered(groups, first, stop, 4).tolist() == [12, 6, 0, 0]


def test_people_who_never_overlap_one_person_only_and_no_tags(db, people):
    _earmark, owner, alice, bob = people
    apart = _sound(people.earmark, owner, "edges", "apart.wav")
    _regions(db, alice, apart, (0.0, 1.0, ["speech"]))
    _regions(db, bob, apart, (5.0, 6.0, ["speech"]))
    alone = _sound(people.earmark, owner, "edges", "alone.wav")
    _sound(people.earmark, owner, "silent", "nobody.wav")
    solo = _sound(people.earmark, owner, "solo", "solo.wav")  # a dataset only one person annotated
    _regions(db, alice, solo, (0.0, 1.0, ["speech"]))
    _regions(db, alice, alone, (0.0, 1.0, ["speech"]), (2.0, 3.0, ["speech"]))
    untagged = _sound(people.earmark, owner, "untagged", "plain.wav")
    _regions(db, alice, untagged, (0.0, 2.0, [], "hello world"), (3.0, 4.0, [], "again"))  # transcripts, no tags
    _regions(db, bob, untagged, (0.0, 2.0, [], "hello word"))
    with db.read() as session:
        edges, plain, silent = agreement(session, "edges"), agreement(session, "untagged"), agreement(session, "silent")
        solo_result = agreement(session, "solo")
        with pytest.raises(NotFound, match="There is no dataset 'nothing'."):
            agreement(session, "nothing")
    assert (solo_result.sounds, solo_result.people, solo_result.pairs, solo_result.gold, solo_result.worst) == (0, (), (), (), ())
    assert (solo_result.overall.segment_f1, solo_result.overall.regions_first, solo_result.overall.tags) == (None, 0, ())
    figures = edges.overall
    assert edges.sounds == 1  # the sound alice alone annotated is not compared
    assert (figures.matched, figures.segment_f1, figures.start_ms, figures.end_ms, figures.wer) == (0, 0.0, None, None, None)
    assert figures.kappa["speech"] == pytest.approx(_kappa(100, 100, 0, 1000))  # < 0: less than chance
    assert (silent.sounds, silent.people, silent.pairs, silent.overall.segment_f1, silent.overall.tags) == (0, (), (), None, ())
    assert (plain.overall.segment_f1, plain.overall.start_ms, plain.overall.wer, plain.overall.tags) == (pytest.approx(2 / 3), 0.0, 0.5, ())


def test_machine_suggestions_and_featurebots_are_left_out(db, people):
    _earmark, owner, alice, bob = people
    bot = make_user(db, "bot-vad", "featurebot")
    sound = _hand_example(db, people)
    _regions(db, bot, sound, (1.0, 3.0, ["speech"]), source="vad:default")
    _regions(db, bot, sound, (7.0, 8.0, ["music"]))  # a featurebot's save without a source is still no person's
    with db.read() as session:
        result = agreement(session, "birds")
    assert [(p.first, p.second) for p in result.pairs] == [("alice", "bob")] and result.people == ("alice", "bob")
    assert result.overall.segment_f1 == pytest.approx(4 / 6)


def test_each_person_against_the_gold_version(db, people):
    """The reviewer's gold copy: alice's regions with her 7-8 music dropped. Alice against it: 2 of her 3 match;
    bob against it: the same two matches as against alice (of his 3 and gold's 2)."""
    _earmark, owner, alice, bob = people
    sound = _hand_example(db, people)
    reviewer = make_user(db, "rita", "dataset")
    _gold(db, _regions(db, reviewer, sound, (1.0, 3.0, ["speech"], "the cat sat"), (4.0, 6.0, ["speech"])))
    with db.read() as session:
        result = agreement(session, "birds")
    assert [(p.first, p.second) for p in result.gold] == [("alice", GOLD), ("bob", GOLD)]
    alice_gold, bob_gold = (p.figures for p in result.gold)
    assert (alice_gold.regions_first, alice_gold.regions_second, alice_gold.matched) == (3, 2, 2)
    assert alice_gold.segment_f1 == pytest.approx(0.8) and alice_gold.wer == 0.0
    assert (bob_gold.regions_first, bob_gold.regions_second, bob_gold.matched) == (3, 2, 2)
    assert bob_gold.segment_f1 == pytest.approx(4 / 5) and bob_gold.wer == pytest.approx(1 / 3)
    assert bob_gold.start_ms == pytest.approx(250) and bob_gold.end_ms == pytest.approx(400)
    assert result.overall.segment_f1 == pytest.approx(4 / 6)  # gold is not a person: the pair of people alone
    assert result.people == ("alice", "bob") and "rita" not in {p.first for p in result.pairs}


def test_rows_are_one_per_scope_pair_and_tag(db, people):
    _hand_example(db, people)
    with db.read() as session:
        table = list(rows(agreement(session, "birds")))
    assert [(r["scope"], r["first"], r["second"], r["tag"]) for r in table] == [
        ("dataset", "", "", ""), ("dataset", "", "", "music"), ("dataset", "", "", "speech"),
        ("pair", "alice", "bob", ""), ("pair", "alice", "bob", "music"), ("pair", "alice", "bob", "speech")]
    assert table[0]["segment_f1"] == pytest.approx(4 / 6) and table[2]["kappa"] == pytest.approx(0.42 / 0.47)


# -- the command line and the HTTP API -------------------------------------------------------------------------------


def test_the_command_line_prints_the_table_and_the_json(db, people):
    _hand_example(db, people)
    table = run("agreement", "--dataset", "birds", env=with_path())
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "Agreement on dataset 'birds': 1 sound annotated by two or more people (or a person and gold)."
    pair = next(line for line in lines if line.startswith("alice ~ bob"))
    assert pair.split()[3:11] == ["1", "3", "3", "2", "0.667", "250", "400", "0.333"]
    assert "music 0.000, speech 0.894" in pair
    speech = next(line for line in lines if line.startswith("speech "))
    assert speech.split() == ["speech", "2", "3", "2", "0.800", "250", "400", "0.894"]

    answer = json.loads(run("agreement", "--dataset", "birds", "--json", env=with_path()).stdout)
    [pair_json] = answer["pairs"]
    assert (pair_json["first"], pair_json["second"]) == ("alice", "bob")
    assert pair_json["segment_f1"] == pytest.approx(2 / 3) and pair_json["start_ms"] == pytest.approx(250)
    assert pair_json["end_ms"] == pytest.approx(400) and pair_json["wer"] == pytest.approx(1 / 3)
    assert pair_json["kappa"] == {"music": pytest.approx(0.0), "speech": pytest.approx(0.42 / 0.47)}
    assert answer["overall"]["segment_f1"] == pytest.approx(2 / 3) and answer["people"] == ["alice", "bob"]

    unknown = run("agreement", "--dataset", "nope", env=with_path())
    assert (unknown.returncode, unknown.stderr.strip(), unknown.stdout) == (1, "error: There is no dataset 'nope'.", "")
    assert run("agreement", env=with_path()).returncode == 2


@pytest.fixture
def api(local_earmark):
    deps.earmark.cache_clear()
    apiauth.BASIC_CACHE.entries.clear()
    return TestClient(Starlette(routes=routes()))


def test_the_api_answers_those_who_may_review_in_json_and_csv(api, db, people):
    _hand_example(db, people)
    make_user(db, "root", admin=True)
    for reviewer in ("owner", "root"):
        answer = api.get("/api/v1/agreement", params={"dataset": "birds"}, headers=basic(reviewer))
        assert answer.status_code == 200, answer.text
        [pair] = answer.json()["pairs"]
        assert (pair["first"], pair["second"], pair["matched"]) == ("alice", "bob", 2)
        assert pair["segment_f1"] == pytest.approx(2 / 3) and pair["kappa"]["speech"] == pytest.approx(0.42 / 0.47)
        assert answer.json()["worst"][0]["path"] == "one.wav"
    table = api.get("/api/v1/agreement", params={"dataset": "birds", "format": "csv"}, headers=basic("owner"))
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    assert table.headers["content-disposition"] == 'attachment; filename="agreement-birds.csv"'
    read = list(csv.DictReader(io.StringIO(table.text)))
    speech = next(r for r in read if (r["scope"], r["tag"]) == ("pair", "speech"))
    assert (speech["first"], speech["second"], speech["matched"], float(speech["segment_f1"])) == ("alice", "bob", "2", 0.8)
    assert float(speech["kappa"]) == pytest.approx(0.42 / 0.47) and speech["wer"] == ""

    refused = api.get("/api/v1/agreement", params={"dataset": "birds"}, headers=basic("alice"))
    assert refused.status_code == 403 and "review" in refused.json()["error"]
    missing = api.get("/api/v1/agreement", params={"dataset": "nope"}, headers=basic("root"))
    assert (missing.status_code, missing.json()) == (404, {"error": "No dataset 'nope'."})
    assert api.get("/api/v1/agreement", headers=basic("root")).status_code == 400
    assert api.get("/api/v1/agreement", params={"dataset": "birds", "format": "xml"}, headers=basic("root")).status_code == 400
    assert api.get("/api/v1/agreement", params={"dataset": "birds"}).status_code == 401


def test_matching_a_batch_at_once_equals_matching_each_group_alone():
    """match_within (every group in one sweep, the solver only for competing segments) against match() on each
    group's full IoU matrix, on random segments that overlap, nest and compete: the same number of matches and the
    same total IoU in every group."""
    rng = np.random.default_rng(5)
    groups = 40
    a_group, b_group = rng.integers(0, groups, 600), rng.integers(0, groups, 600)
    a_start, b_start = rng.uniform(0, 30, 600), rng.uniform(0, 30, 600)
    a_end, b_end = a_start + rng.uniform(0.1, 3, 600), b_start + rng.uniform(0.1, 3, 600)
    ia, ib = matching.match_within(a_group, a_start, a_end, b_group, b_start, b_end)
    assert np.all(a_group[ia] == b_group[ib]) and np.unique(ia).size == ia.size and np.unique(ib).size == ib.size
    together = matching.iou(a_start[ia], a_end[ia], b_start[ib], b_end[ib]).diagonal()
    assert together.min() >= matching.MIN_IOU
    competed = 0
    for g in range(groups):
        rows_, cols = np.flatnonzero(a_group == g), np.flatnonzero(b_group == g)
        overlap = matching.iou(a_start[rows_], a_end[rows_], b_start[cols], b_end[cols])
        competed += int(((overlap >= 0.5).sum(axis=1) > 1).any())
        r, c = matching.match(overlap)
        mine = a_group[ia] == g
        assert mine.sum() == r.size
        assert together[mine].sum() == pytest.approx(overlap[r, c].sum())
    assert competed > 5  # the solver's path was taken, not only the plain one


def test_three_people_make_three_pairs_pooled_over_one_sound(db, people):
    """Carol draws exactly what alice drew: alice ~ carol agree fully, bob ~ carol as bob ~ alice; the dataset pools
    the three pairs' counts but counts the sound once."""
    sound = _hand_example(db, people)
    carol = make_user(db, "carol")
    _regions(db, carol, sound, (1.0, 3.0, ["speech"], "the cat sat"), (4.0, 6.0, ["speech"]), (7.0, 8.0, ["music"]))
    with db.read() as session:
        result = agreement(session, "birds")
    pairs = {(p.first, p.second): p.figures for p in result.pairs}
    assert list(pairs) == [("alice", "bob"), ("alice", "carol"), ("bob", "carol")]
    assert (pairs["alice", "carol"].segment_f1, pairs["alice", "carol"].start_ms, pairs["alice", "carol"].wer) == (1.0, 0.0, 0.0)
    assert pairs["alice", "carol"].kappa == {"music": 1.0, "speech": 1.0}
    assert pairs["bob", "carol"].segment_f1 == pytest.approx(2 / 3)
    overall = result.overall
    assert (overall.sounds, overall.regions_first, overall.regions_second, overall.matched) == (1, 9, 9, 2 + 3 + 2)
    assert overall.segment_f1 == pytest.approx(2 * 7 / 18) and result.sounds == 1


def test_word_errors_are_jiwers_on_random_transcripts():
    """agreement._words (word-level edit distance with rapidfuzz) against jiwer's process_words, pair by pair, on
    random transcripts with repeated, missing and extra words, runs of white space, empty text and no text."""
    import jiwer

    from core.team.agreement import _words

    rng = np.random.default_rng(11)
    vocabulary = ["the", "a", "cat", "sat", "on", "mat", "Mat", "mat."]

    def transcript():
        if rng.random() < 0.1:
            return None if rng.random() < 0.5 else rng.choice(["", "  ", "\t"])
        return rng.choice([" ", "  ", "\t", "\n"]).join(rng.choice(vocabulary, rng.integers(1, 9)).tolist())

    reference = np.array([transcript() for _ in range(400)], dtype=object)
    hypothesis = np.array([transcript() if rng.random() < 0.7 else reference[i] for i in range(400)], dtype=object)
    comparison = rng.integers(0, 5, 400)
    expected = np.zeros((5, 3))
    words_only = jiwer.ReduceToListOfListOfWords()
    for ref, hyp, k in zip(reference, hypothesis, comparison, strict=True):
        if ref is None or hyp is None or not ref.split() or not hyp.split():
            continue
        out = jiwer.process_words(" ".join(ref.split()), " ".join(hyp.split()), words_only, words_only)
        expected[k] += (out.substitutions + out.deletions + out.insertions, len(ref.split()), 1)
    assert expected[:, 0].sum() > 100 and expected[:, 2].sum() > 250  # errors and transcripts to compare
    assert np.array_equal(_words(reference, hypothesis, comparison, 5), expected)


def test_a_regions_tag_rows_need_not_come_together():
    """regions._batch groups a region's rows by its id: a region with two tags whose rows a database returned
    apart is still one region with both tags."""
    from core.team.regions import _batch

    class Sound(NamedTuple):
        id: str
        path: str
        duration_seconds: float

    rows = np.array([("s1", False, "bob", "r1", 1.0, 2.0, None, "speech"),
                     ("s1", False, "ann", "r2", 0.5, 1.0, "hi", "speech"),
                     ("s1", False, "bob", "r1", 1.0, 2.0, None, "music"),
                     ("s1", True, "rev", "r3", 0.5, 1.0, None, None)], dtype=object)
    batch = _batch([Sound("s1", "a.wav", 10.0)], rows)
    assert batch.side_name.tolist() == ["ann", "bob", GOLD] and batch.start.tolist() == [0.5, 1.0, 0.5]
    assert batch.end.tolist() == [1.5, 3.0, 1.5] and batch.text.tolist() == ["hi", None, None]
    bob = range(batch.side_item_lo[1], batch.side_item_hi[1])
    assert sorted(batch.tags[batch.item_tag[i]] for i in bob) == ["music", "speech"]
    assert batch.side_item_hi[2] - batch.side_item_lo[2] == 0  # gold's region has no tag


def test_batches_cut_at_sounds_edges_give_the_same_figures(db, people, monkeypatch):
    """core/team/regions.py cuts the one streamed query into batches at sounds' edges: with batches of a few rows
    and chunks of two (so a sound's rows span chunks) the figures are those read in one batch."""
    from core.team import regions

    sounds = [_hand_example(db, people)]
    for title in ("two", "three"):
        sounds.append(_sound(people.earmark, people.owner, "birds", title))
        _regions(db, people.alice, sounds[-1], (1.0, 2.0, ["speech"]), (3.0, 4.0, ["music", "speech"], "a b"))
        _regions(db, people.bob, sounds[-1], (1.1, 2.0, ["speech"]), (3.0, 4.2, ["music"], "a c"))
    with db.read() as session:
        whole = agreement(session, "birds")
        monkeypatch.setattr(regions, "BATCH_ROWS", 3)
        monkeypatch.setattr(regions, "FETCH", 2)
        assert len(list(regions.read_batches(session, "birds"))) == 3
        assert agreement(session, "birds") == whole and whole.sounds == 3
