"""Download page, splits: speaker_id is offered first to keep together (before session, whatever the alphabet says),
the page says what each split gets (shares met, an empty split named) before the click and what each got after it,
and the manifest's request records every sound exported, not the page's unused count."""

from __future__ import annotations

import io
import json
import zipfile

from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.api import deps
from core.api.app import routes
from tests.conftest import app_test, login, make_user, shown
from tests.test_core_split_report import _sound
from tests.test_pages_download import PAGE, link_of


def test_speaker_first_and_what_each_split_gets_before_and_after_the_download(local_earmark):
    owner = make_user(local_earmark.db, "owner", "dataset")
    for i in range(6):  # two speakers over three sessions: "session" sorts before "speaker_id"
        _sound(local_earmark, owner, f"spk{i % 2}/utt{i}.wav", "trial", {"speaker_id": f"spk{i % 2}", "session": f"s{i % 3}"}, 300 + 9 * i)
    make_user(local_earmark.db, "hal")
    deps.earmark.cache_clear()
    at = login(app_test(PAGE), "hal")
    at.selectbox(key="dl_dataset").select("trial")
    at.radio(key="dl_mode").set_value("splits").run()
    assert at.multiselect(key="dl_split_group_by").value == ["speaker_id"]
    assert at.multiselect(key="dl_split_group_by").options[:2] == ["speaker_id", "session"]
    at.text_input(key="dl_split_shares").input("train=0.5,dev=0.25,test=0.25")
    at.number_input(key="dl_seed").set_value(4)
    at.run()
    assert not at.exception and not at.error
    assert shown(at.warning[0].value) == "1 of the 3 splits get no sounds with these choices: see below."
    assert at.text[0].value.splitlines() == [
        "train: 3 sound(s), 1 group(s) (share 0.500 of 0.5 asked)",
        "dev: 3 sound(s), 1 group(s) (share 0.500 of 0.25 asked)",
        "test: empty, no folder in the ZIP (share 0 of 0.25 asked: the 2 group(s) placed now went to splits further "
        "behind their shares)"]

    zf = zipfile.ZipFile(io.BytesIO(TestClient(Starlette(routes=routes())).get(link_of(at)).content))
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest["request"]["count"] == 6 and manifest["request"]["split"]["shares"] == {"train": 0.5, "dev": 0.25, "test": 0.25}
    assert manifest["shares_met"] == {"train": 0.5, "dev": 0.5, "test": 0.0}
    at.run()  # after the download: the splits stored then
    assert at.text[0].value.splitlines()[2] == ("test: empty, no folder in the ZIP (share 0 of 0.25 asked: no group was placed "
                                                "now; 6 sound(s) keep the splits earlier exports stored)")
