"""The bench command: rows printed and written, instance selection, validation on every row."""

import json
import shutil

from routing import bench


def test_bench_writes_rows(tmp_path, tiny_lilim_path, capsys):
    shutil.copy(tiny_lilim_path, tmp_path / "tiny.txt")
    (tmp_path / "bks.csv").write_text("instance,routes,distance\ntiny,2,305.5232\n")
    out = tmp_path / "out" / "rows.json"
    argv = ["lilim", str(tmp_path), "--time-limit", "0.5", "--solver", "ortools-cold"]
    code = bench.main([*argv, "--json", str(out)])
    assert code == 0
    rows = json.loads(out.read_text())
    assert len(rows) == 1
    row = rows[0]
    assert {"instance", "feasible", "vehicles", "distance", "seconds"} <= set(row)
    assert row["instance"] == "tiny" and row["feasible"] and row["vehicles"] == 2
    assert row["gap_pct"] is not None and abs(row["gap_pct"]) < 0.01
    assert "tiny" in capsys.readouterr().out


def test_bench_selects_instances(tmp_path, tiny_lilim_path):
    for name in ("a", "b"):
        shutil.copy(tiny_lilim_path, tmp_path / f"{name}.txt")
    out = tmp_path / "rows.json"
    argv = ["lilim", str(tmp_path), "--time-limit", "0.3", "--instances", "b", "--json", str(out)]
    assert bench.main([*argv, "--solver", "ortools-cold"]) == 0
    assert [r["instance"] for r in json.loads(out.read_text())] == ["b"]
    assert bench.main([*argv[:-2], "--instances", "nope"]) == 2
