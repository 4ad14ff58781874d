"""Metadata tables as they come from the real world, and how they join to files."""

from __future__ import annotations

import pytest

from core.errors import ValidationError
from core.metadata import merged_fields, plan_join, read_table

FILES = ["id10001/1zcIwhmdeo4/00001.wav", "id10001/1zcIwhmdeo4/00002.wav", "id10002/abc/00001.wav"]


@pytest.mark.parametrize("text", [
    "path,gender\nid10001/1zcIwhmdeo4/00001.wav,f\n",
    "\ufeffpath;gender\r\nid10001/1zcIwhmdeo4/00001.wav;f\r\n",
    " path \t gender \nid10001/1zcIwhmdeo4/00001.wav\tf\n",
    '{"path": "id10001/1zcIwhmdeo4/00001.wav", "gender": "f"}\n\n',
])
def test_real_world_tables_read_the_same(text):
    rows = read_table(text.encode(), "meta.jsonl" if text.startswith("{") else "meta.csv")
    assert rows == [{"path": "id10001/1zcIwhmdeo4/00001.wav", "gender": "f"}]


def test_json_lines_values_become_text_and_errors_name_the_line():
    rows = read_table(b'{"file_name": "a.wav", "n": 3, "tags": ["x", "y"], "none": null}\n', "m.jsonl")
    assert rows == [{"file_name": "a.wav", "n": "3", "tags": '["x", "y"]', "none": ""}]
    with pytest.raises(ValidationError, match="m.jsonl line 2 is not JSON"):
        read_table(b'{"a": 1}\n{"a": \n', "m.jsonl")
    with pytest.raises(ValidationError, match="empty.csv is empty."):
        read_table(b"  \n", "empty.csv")


def test_join_by_path_column_in_its_spellings():
    for column in ("path", "file_name", "File_Name"):
        rows = read_table(f"{column},x\naudio/id10001/1zcIwhmdeo4/00001.wav,1\n".encode())
        join = plan_join(rows, FILES, "m.csv")
        assert join.by == "path" and join.row_for(FILES[0])["x"] == "1" and join.row_for(FILES[1]) == {}


def test_join_by_a_named_column_and_a_missing_one():
    rows = read_table(b"clip,x\nid10002/abc/00001.wav,2\n")
    assert plan_join(rows, FILES, "m.csv", "clip").row_for(FILES[2])["x"] == "2"
    with pytest.raises(ValidationError, match="m.csv has no column 'nope' \\(it has clip, x\\).") as err:
        plan_join(rows, FILES, "m.csv", "nope")
    assert err.value.field == "path_column"


def test_speaker_level_table_joins_on_the_speaker_folder():
    """VoxCeleb's vox1_meta.csv: one row per speaker, tab-separated, the id in 'VoxCeleb1 ID'."""
    rows = read_table(b"VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet\n"
                      b"id10001\tA.J._Buckley\tm\tIreland\tdev\nid10002\tA.R._Rahman\tm\tIndia\ttest\n")
    join = plan_join(rows, FILES, "vox1_meta.csv")
    assert (join.by, join.column) == ("speaker", "VoxCeleb1 ID")
    assert join.row_for(FILES[2])["Nationality"] == "India"
    assert join.row_for("upload-folder/id10001/x/1.wav")["Set"] == "dev"  # a dropped folder adds its own name


def test_path_rows_win_over_speaker_rows():
    speakers = plan_join(read_table(b"id,gender,set\nid10001,m,dev\n"), FILES, "s.csv")
    clips = plan_join(read_table(b"path,set\nid10001/1zcIwhmdeo4/00001.wav,test\n"), FILES, "c.csv")
    assert merged_fields([clips, speakers], FILES[0]) == {"id": "id10001", "gender": "m", "set": "test", "path": FILES[0]}


def test_no_way_to_join_says_what_to_do():
    with pytest.raises(ValidationError, match="no path column .* name the path column"):
        plan_join(read_table(b"colour,size\nred,3\n"), FILES, "odd.csv")
