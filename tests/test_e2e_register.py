"""End to end in headless Chromium: an administrator registers a bucket on moto's S3 server from the Upload page,
Browse lists its sounds as "in place", and the Annotate page draws a sound's waveform from the bucket's bytes
(pixels of the element's screenshot); the bucket holds exactly what it held before."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import E2E_ADMIN, E2E_PASSWORD, TEST_DATABASE_URL, e2e_log_in, e2e_settle, free_port, pg_schema, serve
from tests.test_e2e_waveform_screen import WAVE_HEIGHT, burst_clip, columns, ink, pixels

pytestmark = pytest.mark.browser
BUCKET = "field-recordings"
KEYS = {"EARMARK_SOURCE_AWS_ACCESS_KEY_ID": "reader", "EARMARK_SOURCE_AWS_SECRET_ACCESS_KEY": "reader-secret",
        "EARMARK_SOURCE_AWS_REGION": "us-east-1"}


def _wav(samples: np.ndarray, rate: int = 16_000) -> bytes:
    out = io.BytesIO()
    sf.write(out, samples, rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


@pytest.fixture(scope="module")
def source():
    """moto's S3 server with the user's bucket: two recordings and a note; (endpoint, S3 client)."""
    import boto3
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    moto.start()
    endpoint = "http://{}:{}".format(*moto.get_host_and_port())
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="owner",
                          aws_secret_access_key="owner-secret")
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key="birds/site1/dawn.wav", Body=_wav(burst_clip()))
    client.put_object(Bucket=BUCKET, Key="birds/site1/noon.wav", Body=_wav(burst_clip(4.0)))
    client.put_object(Bucket=BUCKET, Key="birds/README.md", Body=b"# site 1")
    try:
        yield endpoint, client
    finally:
        moto.stop()


@pytest.fixture(scope="module")
def server(source, tmp_path_factory):
    """The app with its own storage in a local folder; only the EARMARK_SOURCE_* settings reach the bucket."""
    settings = KEYS | {"EARMARK_SOURCE_S3_ENDPOINT_URL": source[0]}
    with (pg_schema(TEST_DATABASE_URL) if TEST_DATABASE_URL else contextlib.nullcontext() as database_url,
          serve(tmp_path_factory.mktemp("e2e-register") / "earmark-data", database_url, settings) as served):
        yield served


def _bucket(client) -> dict[str, str]:
    return {o["Key"]: o["ETag"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_register_a_bucket_from_the_upload_page_and_annotate_from_it(page, server, source):
    from playwright.sync_api import expect

    before = _bucket(source[1])
    e2e_log_in(page, server)
    page.goto(f"{server}/Upload")
    page.get_by_role("tab", name="Register in place").click()
    page.locator(".st-key-register_source input").fill(f"s3://{BUCKET}/birds")
    dataset = page.locator(".st-key-register_dataset input")
    dataset.fill("birds")
    dataset.press("Tab")
    e2e_settle(page)
    submit = page.get_by_test_id("stBaseButton-primary").filter(has_text="Register")
    expect(submit).to_be_enabled()  # once both fields have reached the server
    submit.click()
    expect(page.get_by_text(f"s3://{BUCKET}/birds: 2 registered, 0 already registered, 0 already there, 0 refused, "
                            "1 skipped (not audio).")).to_be_visible(timeout=60_000)
    e2e_settle(page)
    assert sum(t.is_visible() for t in page.locator("[data-testid=stDataFrame]").all()) == 1  # the results, shown once
    page.screenshot(path=str(server.data_dir.parent / "register.png"), full_page=True)
    assert _bucket(source[1]) == before

    page.goto(f"{server}/Browse?dataset=birds")
    expect(page.get_by_text("2 sounds match; showing 1–2.")).to_be_visible()
    table = page.get_by_test_id("stDataFrame").first
    expect(table).to_be_visible()
    page.screenshot(path=str(server.data_dir.parent / "register-browse.png"), full_page=True)

    sounds = server.cli("sounds", "--dataset", "birds", "--json")
    import json

    dawn = next(s["id"] for s in json.loads(sounds.stdout) if s["path"] == "site1/dawn.wav")
    page.goto(f"{server}/Annotate?sound={dawn}")
    e2e_settle(page)
    box = page.get_by_test_id("earmark-waveform")
    expect(box).to_have_attribute("data-ready", "true", timeout=30_000)
    wave = pixels(box)[:WAVE_HEIGHT]
    line = ink(wave)
    assert line[columns(wave, 0.2, 0.3)].min() > 0.4 * WAVE_HEIGHT  # the burst at 2-3 s, from the bucket's bytes
    assert line[columns(wave, 0.35, 0.55)].max() <= 4
    status, audio = _get(page, f"{server}/api/v1/sounds/{dawn}/audio")
    assert status in (200, 206) and audio == _wav(burst_clip())  # the bucket's bytes, as stored there
    assert _bucket(source[1]) == before


def _get(page, url: str) -> tuple[int, bytes]:
    """As a script would ask (HTTP Basic as the administrator), following a redirect to the bucket if any."""
    import base64

    token = base64.b64encode(f"{E2E_ADMIN}:{E2E_PASSWORD}".encode()).decode()
    response = page.request.get(url, headers={"Authorization": f"Basic {token}"})
    return response.status, response.body()
