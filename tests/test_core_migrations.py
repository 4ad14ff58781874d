"""Migrations: a database from the release before migrations, and one at the previous revision, upgrade in
place with their rows; a database newer than the code is refused; the command line reports and upgrades."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from core.annotations.service import AnnotationService
from core.context import open_earmark
from core.errors import ConfigError
from core.store import config, migrate
from core.store.db import Database
from core.store.models import Annotation, User
from tests.conftest import ON_POSTGRES


def database() -> Database:
    return Database(config.settings().database_url)


def rows_at_previous_revision(db: Database) -> None:
    """Rows written with the previous revision's columns only (what that release could write)."""
    with db.write_engine.begin() as connection:
        connection.execute(text("INSERT INTO users (id, user_name, user_type, is_admin, is_active, password_hash, date_created) "
                                "VALUES ('u1', 'ada', 'dataset', true, true, '!', CURRENT_TIMESTAMP)"))
        connection.execute(text("INSERT INTO sounds (id, created_by, dataset, path, title, duration_seconds, date_created, "
                                "annotation_count) VALUES ('s1', 'u1', 'field', 'a/crow.wav', 'crow', 2.0, CURRENT_TIMESTAMP, 1)"))
        connection.execute(text("INSERT INTO annotations (id, sound_id, created_by, start_seconds, duration_seconds, text, "
                                "version, date_created, date_updated) VALUES ('a1', 's1', 'u1', 0.5, 1.0, 'caw', 1, "
                                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))


def check_upgraded(db: Database) -> None:
    assert migrate.current(db) == migrate.head()
    with db.read() as session:
        annotation = session.get(Annotation, "a1")
        assert (annotation.text, annotation.start_seconds, annotation.updated_by) == ("caw", 0.5, None)
    with db.write() as session:  # and the data is usable with today's code
        edited = AnnotationService(session).update(session.get(User, "u1"), "a1", 1, text="caw caw")
        assert (edited.version, edited.updated_by) == (2, "u1")


def test_a_database_at_the_previous_revision_upgrades_with_its_rows():
    db = database()
    assert migrate.upgrade(db, "0001") == "0001"
    rows_at_previous_revision(db)
    assert "updated_by" not in {c["name"] for c in inspect(db.engine).get_columns("annotations")}
    assert migrate.upgrade(db) == migrate.head()
    check_upgraded(db)


def test_a_database_from_before_migrations_is_stamped_then_upgraded():
    db = database()
    migrate.upgrade(db, "0001")
    with db.write_engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))  # as the release before migrations left it
    rows_at_previous_revision(db)
    assert migrate.current(db) is None
    check_upgraded(open_earmark(config.settings()).db)  # the app upgrades on start


def test_sounds_written_before_sample_keys_get_random_ones():
    """Migration 0010 draws every existing sound's sample key (core/export/sampling.py orders subsets by it)."""
    from core.store.models import SAMPLE_KEY_MODULUS, Sound

    db = database()
    migrate.upgrade(db, "0009")
    rows_at_previous_revision(db)
    with db.write_engine.begin() as connection:
        for i in range(200):
            connection.execute(text("INSERT INTO sounds (id, created_by, dataset, path, title, duration_seconds, "
                                    f"date_created, annotation_count) VALUES ('t{i}', 'u1', 'field', '{i}.wav', 't', 1.0, "
                                    "CURRENT_TIMESTAMP, 0)"))
    migrate.upgrade(db)
    with db.read() as session:
        keys = [session.get(Sound, f"t{i}").sample_key for i in range(200)]
    assert len(set(keys)) >= 195 and all(0 <= key < SAMPLE_KEY_MODULUS for key in keys)
    assert min(keys) < SAMPLE_KEY_MODULUS // 10 and max(keys) > SAMPLE_KEY_MODULUS * 9 // 10  # spread over the range
    check_upgraded(db)


def test_a_database_newer_than_the_code_is_refused():
    db = database()
    migrate.upgrade(db)
    with db.write_engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(ConfigError, match="revision 9999, newer than this Earmark knows .*upgrade Earmark"):
        open_earmark(config.settings())


def test_history_lists_every_revision_in_order():
    revisions = migrate.history()
    assert [r for r, _ in revisions][:2] == ["0001", "0002"] and revisions[-1][0] == migrate.head()
    assert all(what for _, what in revisions)


@pytest.mark.skipif(not ON_POSTGRES, reason="the trigram indexes exist on PostgreSQL only")
def test_postgres_gets_trigram_indexes():
    db = database()
    migrate.upgrade(db)
    indexes = {i["name"] for i in inspect(db.engine).get_indexes("sounds")}
    assert {"ix_sounds_path_trgm", "ix_sounds_title_trgm"} <= indexes


def test_the_command_line_upgrades_and_reports(capsys):
    from core.cli import main

    assert main(["db", "current"]) == 0
    assert "(none: an empty database)" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert f"at revision {migrate.head()}" in capsys.readouterr().out
    assert main(["db", "current"]) == 0
    assert migrate.head() in capsys.readouterr().out
    assert main(["db", "history"]) == 0
    out = capsys.readouterr().out
    assert "0001" in out and "Baseline" in out and "0002" in out
    assert main(["sounds"]) == 0  # and the rest of the command line still works on it


def test_replicas_starting_together_migrate_once():
    import threading

    results: list[str | Exception] = []
    gate = threading.Barrier(3)

    def start() -> None:
        db = database()  # each replica has its own engine
        gate.wait(10)
        try:
            results.append(migrate.upgrade(db))
        except Exception as exc:  # noqa: BLE001 - compared below
            results.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [migrate.head()] * 3


def test_team_work_tables_arrive_on_a_populated_database():
    """Migration 0012: existing annotations are nobody's gold, and assignments can be made on existing sounds."""
    from core.catalogue.search import CatalogueQuery
    from core.team.assignments import AssignRequest, assign

    db = database()
    migrate.upgrade(db, "0011")
    rows_at_previous_revision(db)
    migrate.upgrade(db)
    check_upgraded(db)
    with db.write() as session:
        assert session.get(Annotation, "a1").is_gold is False
        summary = assign(session, session.get(User, "u1"), AssignRequest(CatalogueQuery(dataset="field"), ("ada",)))
    assert (summary.sounds, summary.assignments) == (1, 1)
