"""Metadata tables as they come from the real world, and how they join to files."""

from __future__ import annotations

import pytest

from core.catalogue.metadata import merged_fields, plan_join, read_table
from core.errors import ValidationError

FILES = ["id10001/1zcIwhmdeo4/00001.wav", "id10001/1zcIwhmdeo4/00002.wav", "id10002/abc/00001.wav"]


@pytest.mark.parametrize("text", [
    "path,gender\nid10001/1zcIwhmdeo4/00001.wav,f\n",
    "\ufeffpath;gender\r\nid10001/1zcIwhmdeo4/00001.wav;f\r\n",
    " path \t gender \nid10001/1zcIwhmdeo4/00001.wav\tf\n",
    '{"path": "id10001/1zcIwhmdeo4/00001.wav", "gender": "f"}\n\n',
])
def test_real_world_tables_read_the_same(text):
    rows = read_table(text.encode(), "meta.jsonl" if text.startswith("{") else "meta.csv").to_dict("records")
    assert rows == [{"path": "id10001/1zcIwhmdeo4/00001.wav", "gender": "f"}]


def test_json_lines_values_become_text_and_errors_name_the_line():
    rows = read_table(b'{"file_name": "a.wav", "n": 3, "tags": ["x", "y"], "none": null}\n', "m.jsonl").to_dict("records")
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


def _parquet(rows: list[dict]) -> bytes:
    import io

    import pandas as pd

    buffer = io.BytesIO()
    pd.DataFrame(rows).to_parquet(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("name,data", [
    ("m.csv", b"path,notes\nid10001/1zcIwhmdeo4/00001.wav,\"two\nlines\"\n"),
    ("m.tsv", b"path\tnotes\nid10001/1zcIwhmdeo4/00001.wav\t\"two\nlines\"\n"),
    ("m.csv", b"path|notes\nid10001/1zcIwhmdeo4/00001.wav|\"two\nlines\"\n"),
    ("m.csv", "\ufeff path ;notes\r\nid10001/1zcIwhmdeo4/00001.wav;\"two\r\nlines\"\r\n".encode()),
    ("m.ndjson", b'{"path": "id10001/1zcIwhmdeo4/00001.wav", "notes": "two\\nlines"}\n'),
    ("m.parquet", _parquet([{"path": "id10001/1zcIwhmdeo4/00001.wav", "notes": "two\nlines"}])),
])
def test_every_table_format_reads_to_the_same_text(name, data, tmp_path):
    expected = [{"path": "id10001/1zcIwhmdeo4/00001.wav", "notes": "two\nlines".replace("\n", "\r\n") if b"\r\n" in data else "two\nlines"}]
    assert read_table(data, name).to_dict("records") == expected
    (tmp_path / name).write_bytes(data)
    assert read_table(tmp_path / name, name).to_dict("records") == expected  # from a path: the same


def test_parquet_values_of_any_type_become_text():
    table = read_table(_parquet([{"path": "a.wav", "n": 3, "ok": True, "x": None}]), "t.parquet")
    assert table.to_dict("records") == [{"path": "a.wav", "n": "3", "ok": "true", "x": ""}]


@pytest.mark.parametrize("data,message", [
    (b"", "t.csv is empty."),
    (b"\n\n", "t.csv is empty."),
    (b"PAR1 not really", "t.parquet is not a readable Parquet file"),
    (b'a,b\n1,2,3\n', "t.csv is not a readable table"),
])
def test_odd_tables_are_refused_by_name(data, message):
    name = "t.parquet" if data.startswith(b"PAR1") else "t.csv"
    with pytest.raises(ValidationError, match=message):
        read_table(data, name)


def test_a_header_only_table_joins_nothing():
    join = plan_join(read_table(b"path,x\n", "h.csv"), FILES, "h.csv")
    assert join.keys == {} and join.describe() == "h.csv: 0 of 0 rows joined by column 'path' = path"


def test_only_rows_naming_a_file_are_kept_and_odd_spellings_still_join():
    table = read_table(b"path,x\n./id10001/1zcIwhmdeo4//00001.wav,1\nid10002\\abc\\00001.wav,2\nother/9.wav,3\n../x.wav,4\n", "m.csv")
    join = plan_join(table, FILES, "m.csv")
    assert join.row_for(FILES[0])["x"] == "1" and join.row_for(FILES[2])["x"] == "2"
    assert len(join.keys) == 2 and join.describe() == "m.csv: 2 of 4 rows joined by column 'path' = path"


def test_a_table_whose_every_row_joins_is_kept_whole_and_still_counts_its_joins():
    files = [f"s{i % 3}/c{i}.wav" for i in range(10)]
    lines = "".join(f"{f},{i}\n" for i, f in enumerate(files[:8]))
    join = plan_join(read_table(f"path,n\n{lines}other.wav,x\n".encode(), "all.csv"), files, "all.csv")
    assert [join.row_for(f).get("n") for f in files] == [str(i) for i in range(8)] + [None, None]
    assert join.describe() == "all.csv: 8 of 9 rows joined by column 'path' = path"


@pytest.mark.parametrize("cell,shown", [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"), ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("@SUM(1+1)", "'@SUM(1+1)"), ("-2+3", "'-2+3"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("-3.5", "-3.5"), ("+7", "+7"), ("1e-3", "1e-3"), ("plain", "plain"), ("", ""), (-3.5, -3.5), (None, None),
])
def test_cells_a_spreadsheet_would_run_are_shown_as_text(cell, shown):
    from core.catalogue.metadata import spreadsheet_safe

    assert spreadsheet_safe(cell) == shown


def test_every_csv_earmark_hands_out_has_a_spreadsheet_safe_header():
    """to_csv makes the header safe as well as the cells (a job's results CSV took its field names raw: an analyzer's
    or a metadata table's column named '=HYPERLINK(...)' ran as a formula in the header), without merging a column
    into one already named like the safe name."""
    import csv
    import io

    from core.catalogue.metadata import to_csv

    text = to_csv(["path", "=cmd()", "'=cmd()", "-2"], [{"path": "a.wav", "=cmd()": "x", "'=cmd()": "y", "-2": "z"}])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["path", "''=cmd()", "'=cmd()", "-2"] and rows[1] == ["a.wav", "x", "y", "z"]


def test_csvs_written_for_people_are_spreadsheet_safe():
    import csv
    import io

    from core.catalogue.metadata import to_csv

    text = to_csv(["a", "b", "n"], [{"a": "=1+1", "b": "@x", "n": -3.5, "extra": "dropped"}, {"a": "-4", "b": None}])
    assert list(csv.reader(io.StringIO(text))) == [["a", "b", "n"], ["'=1+1", "'@x", "-3.5"], ["-4", "", ""]]


def test_a_join_finds_each_files_first_row_whether_few_or_many_files_are_imported():
    """A few files against a big table (Arrow filters the table first) and every file (all values looked up in an
    index of the files) give the same rows: the first row naming a file, its other spellings tried in order, a file
    given twice joined once, cells as the table has them (empty, quoted, unicode)."""
    rows = [f"id1{i:04d}/v/{i:05d}.wav,{i}" for i in range(400)]
    rows += ["id10007/v/00007.wav,second", 'audio/up/a.wav,"x, ""y"""', "b.wav,", "up/c/d.wav,héllo 🎧"]
    table = read_table(("path,n\n" + "\n".join(rows) + "\n").encode(), "m.csv")
    few = ["id10007/v/00007.wav", "up/a.wav", "x/b.wav", "x/up/c/d.wav", "nowhere.wav", "id10007/v/00007.wav"]
    many = few + [f"id1{i:04d}/v/{i:05d}.wav" for i in range(400)]
    for files, joined in ((few, 4), (many, 403)):
        join = plan_join(table, files, "m.csv")
        assert [join.row_for(f).get("n") for f in few] == ["7", 'x, "y"', "", "héllo 🎧", None, "7"]
        assert join.row_for("x/b.wav") == {"path": "b.wav", "n": ""}
        assert len(join.keys) == joined and "nowhere.wav" not in join.keys
        assert join.describe() == f"m.csv: {joined:,} of 404 rows joined by column 'path' = path"


def test_a_join_of_every_row_keeps_no_python_object_per_file(tmp_path):
    """Memory, counted by tracemalloc (deterministic, not a timing): reading a 50,000-row table and joining all its
    files keeps under 48 bytes a file while the import runs and peaks under 100 (the path strings are the
    caller's; Arrow's buffers are not counted). With a dict from path to row, as the join kept before, it held 70
    bytes a file and peaked at 152; now 37 and 70."""
    import tracemalloc

    count = 50_000
    paths = [f"id{i % 6000:05d}/{i % 997:011d}/{i:05d}.wav" for i in range(count)]
    table = tmp_path / "m.csv"
    table.write_text("path,speaker,n\n" + "".join(f"{p},{p[:7]},{i}\n" for i, p in enumerate(paths)))
    plan_join(read_table(b"path,n\na.wav,1\n", "w.csv"), paths[:10], "w.csv")  # lazy imports are not the table's
    tracemalloc.start()
    try:
        join = plan_join(read_table(table, "m.csv"), paths, "m.csv")
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert join.row_for(paths[-1]) == {"path": paths[-1], "speaker": paths[-1][:7], "n": str(count - 1)}
    assert held < 48 * count and peak < 100 * count, f"{held / count:.0f} bytes a file held, {peak / count:.0f} at the peak"
