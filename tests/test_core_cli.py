"""The command line as a person runs it: `python -m core ...`, exit codes 0 / 1 / 2, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from core.store import config, journal
from core.store.db import Database
from tests.conftest import ROOT


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EARMARK_PASSWORD")} | (env or {})
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True, env=full_env,
                          timeout=120, stdin=subprocess.DEVNULL, cwd=os.getcwd())


def with_path() -> dict[str, str]:
    return {"PYTHONPATH": str(ROOT)}


def test_help_everywhere():
    for args in ([], ["users", "add"], ["demo"], ["sounds"], ["stats"], ["import"], ["purge"]):
        result = run(*args, "--help", env=with_path())
        assert result.returncode == 0 and "usage: python -m core" in result.stdout


def test_bad_usage_exits_2():
    assert run("frobnicate", env=with_path()).returncode == 2
    assert run("users", "add", env=with_path()).returncode == 2
    assert run("users", "add", "x", "--type", "robot", env=with_path()).returncode == 2


def test_demo_users_sounds_stats_round_trip():
    env = with_path()
    demo = run("demo", "--quiet", env=env)
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.strip() == "Demo dataset: 32 stored, 0 already there, 0 refused."

    added = run("users", "add", "root", "--admin", "--email", "root@example.org", env=env | {"EARMARK_PASSWORD": "root-password"})
    assert added.returncode == 0 and "Created human administrator root" in added.stdout
    worker = run("users", "add", "vox", "--type", "dataset", env=env | {"EARMARK_PASSWORD": "vox-password"})
    assert worker.returncode == 0 and "Created dataset user vox" in worker.stdout

    sounds = run("sounds", "--dataset", "demo", "--json", env=env)
    rows = json.loads(sounds.stdout)
    assert len(rows) == 32 and set(rows[0]) == {"id", "dataset", "path", "duration_seconds"}
    assert sorted(r["path"] for r in rows)[0].startswith("id00001/")  # ids follow the (parallel) import, not the paths

    stats = json.loads(run("stats", "--json", env=env).stdout)
    assert stats["sounds"] == 32 and stats["users_by_type"] == {"human": 1, "dataset": 2, "featurebot": 0}
    assert "Sounds:      32 in 1 datasets" in run("stats", env=env).stdout


def test_delete_sound_removes_it_and_asks_for_yes():
    env = with_path()
    assert run("demo", "--quiet", env=env).returncode == 0
    assert run("users", "add", "root", "--admin", env=env | {"EARMARK_PASSWORD": "root-password"}).returncode == 0
    rows = json.loads(run("sounds", "--dataset", "demo", "--json", env=env).stdout)
    first, second = rows[0]["id"], rows[1]["id"]
    refused = run("delete-sound", first, env=env)
    assert refused.returncode != 0 and "add --yes" in refused.stderr and "Traceback" not in refused.stderr
    done = run("delete-sound", first, second, "--yes", env=env)
    assert done.returncode == 0, done.stderr
    assert f"Deleted sound {first}" in done.stdout and f"Deleted sound {second}" in done.stdout
    left = {r["id"] for r in json.loads(run("sounds", "--dataset", "demo", "--json", env=env).stdout)}
    assert len(left) == 30 and first not in left and second not in left
    unknown = run("delete-sound", first, "--yes", env=env)
    assert unknown.returncode != 0 and f"No sound with id '{first}'." in unknown.stderr and "Traceback" not in unknown.stderr


def test_first_user_must_be_admin_and_password_is_required():
    env = with_path()
    not_admin = run("users", "add", "root", env=env | {"EARMARK_PASSWORD": "root-password"})
    assert not_admin.returncode == 1 and not_admin.stderr.strip() == "error: The first account must be an administrator: add --admin."
    no_password = run("users", "add", "root", "--admin", env=env)
    assert no_password.returncode == 1 and "EARMARK_PASSWORD" in no_password.stderr
    weak = run("users", "add", "root", "--admin", env=env | {"EARMARK_PASSWORD": "short"})
    assert weak.returncode == 1 and "at least 8 characters" in weak.stderr


def test_a_bad_setting_fails_with_one_line_naming_it():
    result = run("stats", env=with_path() | {"EARMARK_STORAGE_URL": "ftp://nowhere"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["error: EARMARK_STORAGE_URL must start with file:// or s3://, not 'ftp://nowhere'."]


def test_import_a_folder_in_parallel_then_resume(tmp_path):
    from core.ingest.demo import write_demo_files

    env = with_path()
    csv_path = write_demo_files(tmp_path / "src")
    (tmp_path / "src" / "audio" / "id00001" / "broken.wav").write_text("not audio")
    first = run("import", str(tmp_path / "src" / "audio"), "--metadata", str(csv_path), "--dataset", "vox",
                "--tags", "drums", "--workers", "4", env=env)
    assert first.returncode == 1  # something was refused: say so in the exit status
    assert "Imported into vox: 32 stored, 0 already there, 1 refused" in first.stdout
    assert "refused id00001/broken.wav: id00001/broken.wav is not decodable audio (format not recognised)." in first.stderr
    assert "metadata: metadata.csv: 32 of 32 rows joined by column 'path' = path" in first.stderr
    assert "file/s" in first.stderr and "MB/s" in first.stderr  # the progress bar
    (tmp_path / "src" / "audio" / "id00001" / "broken.wav").unlink()
    again = run("import", str(tmp_path / "src" / "audio"), "--dataset", "vox", "--quiet", env=env)
    assert again.returncode == 0 and "0 stored, 32 already there, 0 refused" in again.stdout
    assert "duplicate" not in again.stderr  # a resumed file is at its own path: not listed one by one
    rows = json.loads(run("sounds", "--dataset", "vox", "--json", env=env).stdout)
    assert len(rows) == 32


def test_import_names_a_copy_stored_under_another_path(tmp_path):
    """The same recording under two names: one is stored, the other is named with its twin (its metadata row is
    not joined, so a person must be able to see which file it was)."""
    from core.ingest.demo import write_demo_files

    env = with_path()
    write_demo_files(tmp_path / "src")
    audio = tmp_path / "src" / "audio"
    original = audio / "id00001" / "vid00yrsxqu" / "00001.wav"
    (audio / "extra").mkdir()
    (audio / "extra" / "copy.wav").write_bytes(original.read_bytes())
    result = run("import", str(audio), "--dataset", "twins", "--workers", "1", "--quiet", env=env)
    assert result.returncode == 0 and "32 stored, 1 already there, 0 refused" in result.stdout
    named = [line for line in result.stderr.splitlines() if line.startswith("duplicate ")]
    assert len(named) == 1
    assert named[0] in ("duplicate id00001/vid00yrsxqu/00001.wav: same content as extra/copy.wav",
                        "duplicate extra/copy.wav: same content as id00001/vid00yrsxqu/00001.wav")


def test_import_errors_are_one_line():
    env = with_path()
    missing = run("import", "/no/such/folder", env=env)
    assert missing.returncode == 1 and missing.stderr.strip() == "error: /no/such/folder does not exist."
    assert json.loads(run("stats", "--json", env=env).stdout)["users"] == 0  # no owner account left behind
    assert run("import", ".", "--workers", "0", env=env).returncode == 2
    assert run("import", ".", "--max-files", "x", env=env).returncode == 2


def test_purge_with_nothing_expired():
    result = run("purge", env=with_path())
    assert result.returncode == 0 and result.stdout.strip().splitlines() == [
        "Purged 0 expired files (0 B).",
        "Leftovers older than a day: 0 object(s) without a row, 0 row(s) without an object, removed."]


def test_fsck_reports_and_repairs(tmp_path):
    import os
    import time

    env = with_path()
    assert run("demo", "--quiet", env=env).returncode == 0
    objects = tmp_path / "earmark-data" / "objects"
    stray = objects / "derived" / "lost" / "peaks.bin"  # what a kill -9 between writing peaks and the rows leaves:
    journal.record(Database(config.settings().database_url), ["derived/lost/peaks.bin"])  # journalled, then written
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"x" * 10)
    day_ago = time.time() - 2 * 86400
    os.utime(stray, (day_ago, day_ago))
    clean = run("fsck", env=env)
    assert clean.returncode == 1 and "object without a row: derived/lost/peaks.bin" in clean.stdout
    assert "1 object(s) without a row, 0 row(s) without an object." in clean.stdout
    repaired = run("fsck", "--repair", env=env)
    assert repaired.returncode == 0 and not stray.exists()
    assert run("fsck", env=env).returncode == 0


def test_fsck_and_purge_leave_objects_earmark_did_not_write(tmp_path):
    import os
    import time

    env = with_path()
    assert run("demo", "--quiet", env=env).returncode == 0
    objects = tmp_path / "earmark-data" / "objects"
    theirs = [objects / "derived" / "lost" / "peaks.bin", objects / "audio" / "demo" / "mine.wav", objects / "notes.txt"]
    day_ago = time.time() - 2 * 86400
    for path in theirs:  # written by someone else into the same folder, long ago
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"someone else's")
        os.utime(path, (day_ago, day_ago))
    for command in (["fsck"], ["fsck", "--repair"], ["purge"]):
        result = run(*command, env=env)
        assert result.returncode == 0 and result.stdout.splitlines()[-1] == (
            "Found 3 object(s) Earmark did not write (notes.txt, audio/demo/mine.wav, derived/lost/peaks.bin) and left them alone.")
    assert all(path.read_bytes() == b"someone else's" for path in theirs)


def test_jobs_submit_wait_list_results_and_cancel():
    env = with_path() | {"EARMARK_WORKERS": "0"}
    assert run("demo", "--quiet", env=env).returncode == 0
    assert run("users", "add", "root", "--admin", env=env | {"EARMARK_PASSWORD": "root-password"}).returncode == 0
    submitted = run("jobs", "submit", "onsets", "--dataset", "demo", "--param", "sensitivity=0.9", "--wait", "--quiet", env=env)
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.split()[0]
    assert f"Job {job_id} completed: 32 done, 0 failed;" in submitted.stdout
    assert job_id in run("jobs", "list", env=env).stdout
    lines = run("jobs", "results", job_id, env=env).stdout.splitlines()
    sounds = [json.loads(line) for line in lines]
    assert len(sounds) == 32 and all(s["annotations"] and s["annotations"][0]["tags"] == ["onset"] for s in sounds)
    table = run("jobs", "results", job_id, "--csv", env=env).stdout.splitlines()
    assert table[0].startswith("sound_id,dataset,path,start_seconds,end_seconds,tags")
    assert len(table) - 1 == sum(len(s["annotations"]) for s in sounds)
    cancelled = run("jobs", "cancel", job_id, env=env)
    assert cancelled.returncode == 1 and cancelled.stderr.strip() == f"error: Job {job_id} has already completed."
    assert run("jobs", "submit", "onsets", "--param", "sensitivity=3", env=env).stderr.strip() == \
        "error: sensitivity must be from 0 to 1, not 3."


def test_jobs_submit_wait_runs_the_job_here_when_no_worker_takes_it():
    env = with_path()  # EARMARK_WORKERS is 1 (the app's pool), but no app is running
    assert run("demo", "--quiet", env=env).returncode == 0
    assert run("users", "add", "root", "--admin", env=env | {"EARMARK_PASSWORD": "root-password"}).returncode == 0
    done = run("jobs", "submit", "audio-stats", "--dataset", "demo", "--wait", "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    assert "No worker took job" in done.stderr and "running it here." in done.stderr
    assert "completed: 32 done, 0 failed" in done.stdout


def test_jobs_list_says_whether_a_worker_is_alive():
    import signal
    import time

    env = with_path()
    assert "No worker is running" in run("jobs", "list", env=env).stdout
    worker = subprocess.Popen([sys.executable, "-m", "core", "worker"], env={**os.environ, **env}, cwd=os.getcwd(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, listed = time.monotonic() + 60, ""
        while time.monotonic() < deadline and "Workers alive: 1 (" not in listed:
            listed = run("jobs", "list", env=env).stdout
        assert f":{worker.pid}:" in listed, listed
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0, worker.stderr.read()
    assert "No worker is running" in run("jobs", "list", env=env).stdout  # a worker that stops says so
