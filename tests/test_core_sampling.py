"""The seeded order subsets are chosen by (core/export/sampling.py): the database computes it exactly as the
definition says, the passes that look at part of the order give the same subset as the whole order would, and the
order is random the way people expect (every sound equally likely, two seeds' subsets about as different as two
independent draws)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from itertools import combinations

import pytest
from sqlalchemy import select, update

from core.catalogue.search import CatalogueQuery
from core.export import sampling
from core.export.subset import ExportRequest, choose
from core.store.models import SAMPLE_KEY_MODULUS, Sound, SoundField
from tests.conftest import make_user
from tests.test_core_long_id_lists import many_sounds


def fixed_keys(db, ids: list[str], seed: int = 1) -> dict[str, int]:
    """Give the sounds known sample keys (the test is then the same on every run)."""
    rng = random.Random(seed)
    keys = {sound_id: rng.randrange(SAMPLE_KEY_MODULUS) for sound_id in ids}
    with db.write() as session:
        for sound_id, key in keys.items():
            session.execute(update(Sound).where(Sound.id == sound_id).values(sample_key=key))
    return keys


@pytest.fixture
def catalogue(local_earmark):
    """3,000 sounds: gender f/m/x, a tenth without the field, three of a rare value "z", and one sound of value "q"
    with no audio (so "q" is a value of the catalogue that no candidate has)."""
    earmark, vox = local_earmark, make_user(local_earmark.db, "vox", "dataset")
    ids = many_sounds(earmark.db, vox.id, 3_000)
    with earmark.db.write() as session:
        session.execute(update(SoundField).where(SoundField.sound_id.in_(ids[::3])).values(value="x"))
        session.execute(update(SoundField).where(SoundField.sound_id.in_(ids[5:14:3])).values(value="z"))
        session.execute(SoundField.__table__.delete().where(SoundField.sound_id.in_(ids[1::10])))
        session.execute(update(SoundField).where(SoundField.sound_id == ids[2]).values(value="q"))
        session.execute(update(Sound).where(Sound.id == ids[2]).values(file_id=None))
    keys = fixed_keys(earmark.db, ids)
    with earmark.db.read() as session:
        values = {sound_id: "" for sound_id in ids} | dict(session.execute(
            select(SoundField.sound_id, SoundField.value).where(SoundField.name == "gender")).all())
    return earmark, [i for i in ids if i != ids[2]], keys, values


def reference(request: ExportRequest, ids: list[str], keys: dict[str, int], values: dict[str, str]) -> list[str]:
    """The definition, in Python over every candidate: sorted by (a*key + b) mod M, then id; balanced by turns."""
    order = sampling.SeededOrder.of(request.seed)
    ranked = sorted(ids, key=lambda sound_id: (order.place(keys[sound_id]), sound_id))
    if not request.balance:
        return ranked[: request.count]
    groups = defaultdict(list)
    for sound_id in ranked:
        groups[values[sound_id]].append(sound_id)
    groups = {k: v[: request.cap] if request.cap else v for k, v in groups.items()}
    picked, index = [], 0
    while len(picked) < request.count and index < max(map(len, groups.values())):
        picked += [groups[v][index] for v in sorted(groups) if index < len(groups[v])][: request.count - len(picked)]
        index += 1
    return picked


def test_the_database_chooses_what_the_definition_says_in_as_few_passes_as_it_can(catalogue, monkeypatch):
    earmark, ids, keys, values = catalogue
    passes = []
    firsts = sampling._firsts
    monkeypatch.setattr(sampling, "_firsts", lambda *args: passes.append(args[-1]) or firsts(*args))
    cases = [  # (request, how many passes it may take)
        (ExportRequest(count=700, seed=5), 0),
        (ExportRequest(count=1_000, seed=9, balance="gender"), None),
        (ExportRequest(count=1_000, seed=9, balance="gender", cap=200), None),
        (ExportRequest(count=2_999, seed=1, balance="gender"), None),
        (ExportRequest(count=12, seed=3, balance="gender"), None),  # "z" (3 sounds) and "q" (none) need wider passes
    ]
    for request, most in cases:
        passes.clear()
        with earmark.db.read() as session:
            chosen = choose(session, request)
        assert {s.id for s in chosen} == set(reference(request, ids, keys, values)), request
        assert [(s.dataset, s.path) for s in chosen] == sorted((s.dataset, s.path) for s in chosen)
        if most is not None:
            assert len(passes) == most
    assert len(passes) > 1 and passes[-1] == SAMPLE_KEY_MODULUS  # the last case widened to the whole order


def test_a_common_balanced_subset_is_decided_by_its_first_pass(local_earmark, monkeypatch):
    """Two values, both with plenty of sounds: the first pass (about twice the subset) decides it."""
    earmark, vox = local_earmark, make_user(local_earmark.db, "vox", "dataset")
    ids = many_sounds(earmark.db, vox.id, 4_000)
    keys = fixed_keys(earmark.db, ids, seed=2)
    values = {sound_id: "fm"[i % 2] for i, sound_id in enumerate(ids)}
    passes = []
    firsts = sampling._firsts
    monkeypatch.setattr(sampling, "_firsts", lambda *args: passes.append(args[-1]) or firsts(*args))
    request = ExportRequest(count=400, seed=11, balance="gender")
    with earmark.db.read() as session:
        chosen = choose(session, request)
    assert {s.id for s in chosen} == set(reference(request, ids, keys, values))
    assert Counter(values[s.id] for s in chosen) == {"f": 200, "m": 200}
    assert len(passes) == 1 and passes[0] < SAMPLE_KEY_MODULUS // 4


def test_the_order_is_computed_without_overflow_at_the_largest_keys(local_earmark):
    earmark, vox = local_earmark, make_user(local_earmark.db, "vox", "dataset")
    ids = many_sounds(earmark.db, vox.id, 6)
    extremes = dict(zip(ids, (0, 1, 2, SAMPLE_KEY_MODULUS - 2, SAMPLE_KEY_MODULUS - 1, 2**30), strict=True))
    with earmark.db.write() as session:
        for sound_id, key in extremes.items():
            session.execute(update(Sound).where(Sound.id == sound_id).values(sample_key=key))
    for seed in (0, 1, 2**40, -5):
        order = sampling.SeededOrder.of(seed)
        with earmark.db.read() as session:
            placed = dict(session.execute(select(Sound.id, order.column())).all())
        assert placed == {sound_id: order.place(key) for sound_id, key in extremes.items()}
        assert all(0 <= place < SAMPLE_KEY_MODULUS for place in placed.values())


def test_subsets_are_uniform_and_seeds_are_independent(local_earmark):
    """40 seeds' subsets of 200 out of 2,000: every sound is chosen about as often as any other (4 times in 40
    expected), and two seeds share about what two independent draws would (20 sounds expected)."""
    earmark, vox = local_earmark, make_user(local_earmark.db, "vox", "dataset")
    ids = many_sounds(earmark.db, vox.id, 2_000)
    fixed_keys(earmark.db, ids, seed=3)
    subsets = []
    with earmark.db.read() as session:
        pool = sampling.candidates(session, CatalogueQuery(), None)
        for seed in range(40):
            subsets.append(set(sampling.first(session, pool, sampling.SeededOrder.of(seed), 200)))
    times = Counter(sound_id for subset in subsets for sound_id in subset)
    assert len(times) > 1_900 and max(times.values()) <= 14  # binomial(40, 0.1): 14 or more has odds of 1e-5 each
    shared = [len(a & b) for a, b in combinations(subsets, 2)]
    assert 18 <= sum(shared) / len(shared) <= 22 and max(shared) <= 40  # hypergeometric: mean 20, sd 4
