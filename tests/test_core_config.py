
import pytest

from core.errors import ConfigError
from core.store.config import load_settings


def test_defaults_keep_everything_under_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({}, env_file=None)
    assert settings.data_dir == tmp_path / "earmark-data"
    assert settings.database_url == f"sqlite:///{tmp_path / 'earmark-data' / 'earmark.db'}"
    assert settings.storage_url == f"file://{tmp_path / 'earmark-data' / 'objects'}"
    assert settings.max_upload_mb == 512 and settings.workers == 1
    assert settings.s3_anonymous is False and settings.admin_user is None


def test_every_setting_is_read_from_the_environment(tmp_path):
    settings = load_settings({
        "EARMARK_DATA_DIR": str(tmp_path), "EARMARK_DATABASE_URL": "sqlite:////tmp/x.db",
        "EARMARK_STORAGE_URL": "s3://bucket/prefix", "EARMARK_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "EARMARK_S3_ANONYMOUS": "1", "EARMARK_ADMIN_USER": "root", "EARMARK_ADMIN_PASSWORD": "pw-123456",
        "EARMARK_MAX_UPLOAD_MB": "64", "EARMARK_WORKERS": "0", "AWS_REGION": "eu-west-1",
    }, env_file=None)
    assert settings.data_dir == tmp_path
    assert settings.database_url == "sqlite:////tmp/x.db"
    assert settings.storage_url == "s3://bucket/prefix"
    assert settings.s3_endpoint_url == "http://127.0.0.1:9000" and settings.s3_anonymous
    assert (settings.admin_user, settings.admin_password) == ("root", "pw-123456")
    assert settings.max_upload_bytes == 64 * 1024 * 1024 and settings.workers == 0
    assert settings.aws_region == "eu-west-1"


def test_dotenv_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("EARMARK_MAX_UPLOAD_MB=10\nEARMARK_WORKERS=3\n")
    settings = load_settings({"EARMARK_WORKERS": "2"}, env_file=env_file)
    assert settings.max_upload_mb == 10 and settings.workers == 2


@pytest.mark.parametrize("name, value", [
    ("EARMARK_STORAGE_URL", "ftp://host/x"),
    ("EARMARK_STORAGE_URL", "s3://"),
    ("EARMARK_DATABASE_URL", "earmark.db"),
    ("EARMARK_MAX_UPLOAD_MB", "lots"),
    ("EARMARK_MAX_UPLOAD_MB", "0"),
    ("EARMARK_WORKERS", "-1"),
    ("EARMARK_S3_ANONYMOUS", "maybe"),
    ("EARMARK_ADMIN_USER", "root"),  # without a password
    ("EARMARK_COOKIE_KEY", "too-short"),
    ("EARMARK_DATABASE_URL", "earmark:s3cret-pw@db.internal/earmark"),  # not a URL, and not repeated (a password)
])
def test_a_bad_setting_is_named_in_one_sentence(name, value):
    with pytest.raises(ConfigError) as err:
        load_settings({name: value}, env_file=None)
    message = str(err.value)
    assert err.value.setting.startswith("EARMARK_")
    assert err.value.setting in message and "\n" not in message and "s3cret-pw" not in message


def test_streamlit_does_not_watch_the_default_data_folder(monkeypatch):
    """Issue 26: a folder upload printed watchdog's warning about watches under ./earmark-data although the
    config blacklisted it: Streamlit watches the app's folder recursively whatever the blacklist says, so the
    config turns the watcher off (checked with Streamlit's own reading of the file)."""
    from streamlit import config as streamlit_config
    from streamlit.watcher import path_watcher

    from tests.conftest import ROOT

    monkeypatch.chdir(ROOT)  # where `streamlit run app.py` reads .streamlit/config.toml
    streamlit_config.get_config_options(force_reparse=True)
    try:
        assert path_watcher.get_default_path_watcher_class() is path_watcher.NoOpPathWatcher
    finally:
        monkeypatch.undo()
        streamlit_config.get_config_options(force_reparse=True)
