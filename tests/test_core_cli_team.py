"""``python -m core assign`` (core/commands/team.py): a one-line summary, double annotation of a seeded share,
nothing new the second time, move and take-back, and refusals in one line with exit 1 (bad usage 2)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.catalogue.sounds import SoundService
from core.cli import main
from core.store.models import Assignment, User
from tests.conftest import make_user


@pytest.fixture
def birds(local_earmark):
    owner = make_user(local_earmark.db, "vox", "dataset")
    for name in ("alice", "bob", "carol"):
        make_user(local_earmark.db, name)
    with local_earmark.db.write() as session:
        service = SoundService(session, local_earmark.storage)
        for i in range(30):
            service.create_reference(owner, title=f"s{i}", duration_seconds=3.0, audio_url=f"https://e.x/{i}.wav", dataset="birds",
                                     tags=["crow" if i % 3 == 0 else "wren"])
    return local_earmark.db


def per_person(db):
    with db.read() as session:
        rows = session.execute(select(User.user_name, Assignment.sound_id).join(Assignment, Assignment.annotator_id == User.id)).all()
    found: dict[str, int] = {}
    for name, _sound in rows:
        found[name] = found.get(name, 0) + 1
    return found


def test_assign_a_share_twice_then_move_and_take_back(birds, capsys):
    assert main(["assign", "--dataset", "birds", "--to", "alice,bob", "--per-sound", "2", "--share", "0.1", "--seed", "3"]) == 0
    assert capsys.readouterr().out.strip() == "Assigned 30 sounds (3 to several people): 33 assignments (alice 17, bob 16)."
    assert main(["assign", "--dataset", "birds", "--to", "alice,bob"]) == 0
    assert "Nothing new to assign in birds" in capsys.readouterr().out
    assert main(["assign", "--dataset", "birds", "move", "--from", "alice", "--to", "carol"]) == 0
    assert capsys.readouterr().out.strip() == "Moved 17 assignments from alice to carol."
    assert per_person(birds) == {"bob": 16, "carol": 17}
    assert main(["assign", "--dataset", "birds", "take-back", "--from", "bob"]) == 0
    assert capsys.readouterr().out.strip() == "Took back 16 assignments from bob."
    assert per_person(birds) == {"carol": 17}


def test_a_filter_and_acting_as_the_uploader(birds, capsys):
    assert main(["assign", "--dataset", "birds", "--to", "alice", "--tags", "crow", "--as", "vox"]) == 0
    assert capsys.readouterr().out.strip() == "Assigned 10 sounds (0 to several people): 10 assignments (alice 10)."


@pytest.mark.parametrize("args, says", [
    (["--to", "alice", "--as", "carol"], "error: As a human user you may not assign this dataset's sounds to annotators; ask an administrator."),
    (["--to", "alice,zed"], "error: No user named 'zed'."),
    (["--to", "alice", "--per-sound", "2"], "error: per_sound must be from 1 to the number of annotators (1), not 2."),
    ([], "error: Name the annotators with --to alice,bob."),
])
def test_refusals_are_one_line(birds, capsys, args, says):
    assert main(["assign", "--dataset", "birds", *args]) == 1
    assert capsys.readouterr().err.strip() == says


@pytest.mark.parametrize("args", [["--share", "2"], ["--share", "x"], ["--per-sound", "0"]])
def test_bad_usage_exits_2(birds, capsys, args):
    with pytest.raises(SystemExit) as stop:
        main(["assign", "--dataset", "birds", "--to", "alice", *args])
    assert stop.value.code == 2
    assert f"argument {args[0]}: " in capsys.readouterr().err  # argparse names the option
