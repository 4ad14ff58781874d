"""End to end in headless Chromium: drop two WAVs and a CSV on the Upload page, see them stored and listed."""

from __future__ import annotations

import json

import pytest

from tests.conftest import e2e_drop_files, e2e_log_in, wav_bytes

pytestmark = pytest.mark.browser


def test_drop_two_wavs_and_a_csv_then_see_them_listed(page, server, tmp_path):
    from playwright.sync_api import expect

    (tmp_path / "kick.wav").write_bytes(wav_bytes(freq=60))
    (tmp_path / "snare.wav").write_bytes(wav_bytes(freq=190))
    (tmp_path / "labels.csv").write_text("file_name,instrument\nkick.wav,kick\nsnare.wav,snare\n")
    e2e_log_in(page, server)
    page.goto(f"{server}/Upload")
    for zone in (".st-key-upload_files", ".st-key-upload_folder"):  # the server's limit (512 MB), not Streamlit's "1GB"
        expect(page.locator(zone)).to_contain_text("up to 512 MB per file")
        expect(page.locator(zone).get_by_test_id("stFileUploaderDropzoneInstructions")).to_be_hidden()
        assert "GB" not in page.locator(zone).inner_text()  # what is on the screen
    dataset = page.get_by_role("textbox", name="Dataset")
    dataset.fill("drums")
    dataset.press("Tab")
    e2e_drop_files(page, "upload_files", [tmp_path / "kick.wav", tmp_path / "snare.wav", tmp_path / "labels.csv"], "snare.wav")
    submit = page.get_by_test_id("stBaseButton-primary").filter(has_text="Upload")
    expect(submit).to_be_enabled()
    submit.click()
    expect(page.get_by_text("3 stored, 0 already there, 0 refused.")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Metadata labels.csv: 2 of 2 rows joined by column 'file_name' = path.")).to_be_visible()
    page.screenshot(path=str(tmp_path / "upload.png"), full_page=True)

    page.goto(f"{server}/Browse?dataset=drums")
    expect(page.get_by_text("2 sounds match; showing 1–2.")).to_be_visible()


def test_drop_a_folder_keeps_the_layout_inside_it(page, server, tmp_path):
    from playwright.sync_api import expect

    folder = tmp_path / "session"
    (folder / "id00009" / "take1").mkdir(parents=True)
    (folder / "id00009" / "take1" / "00001.wav").write_bytes(wav_bytes(freq=333))
    (folder / "id00009" / "take1" / "00002.wav").write_bytes(wav_bytes(freq=444))
    e2e_log_in(page, server)
    page.goto(f"{server}/Upload")
    dataset = page.get_by_role("textbox", name="Dataset")
    dataset.fill("folders")
    dataset.press("Tab")
    e2e_drop_files(page, "upload_folder", folder, "00002.wav")
    submit = page.get_by_test_id("stBaseButton-primary").filter(has_text="Upload")
    expect(submit).to_be_enabled()
    submit.click()
    expect(page.get_by_text("2 stored, 0 already there, 0 refused.")).to_be_visible(timeout=60_000)
    page.goto(f"{server}/Browse?dataset=folders")
    expect(page.get_by_text("2 sounds match; showing 1–2.")).to_be_visible()
    listed = server.cli("sounds", "--dataset", "folders", "--json")
    assert sorted(s["path"] for s in json.loads(listed.stdout)) == [  # the dropped folder's own name left out
        "id00009/take1/00001.wav", "id00009/take1/00002.wav"]
