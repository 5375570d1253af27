"""The cache of compiled standalone projects, on fake projects (no compiler): what its key reads, what it
keeps and restores, and that it never leaves half an entry. The compiled circuits that use it are
checked in tests/integration/test_generated_code.py (a cached binary gives the fresh compile's numbers)."""

import os
import time

import pytest

from spikefa.brian import compiled_cache


def fake_project(path, source="int main() { return 0; }", data=b"\x00\x01"):
    (path / "code_objects").mkdir(parents=True)
    (path / "static_arrays").mkdir()
    (path / "results").mkdir()
    (path / "main.cpp").write_text(source)
    (path / "code_objects" / "a.cpp").write_text("// a")
    (path / "makefile").write_text("all: main")
    (path / "static_arrays" / "_static_array_x").write_bytes(data)
    return path


def fake_compile(project):
    (project / "main.o").write_bytes(b"object of " + (project / "main.cpp").read_bytes())
    (project / "code_objects" / "a.o").write_bytes(b"a")
    (project / "code_objects" / "a.d").write_text("a.o: a.cpp")
    (project / "main").write_bytes(b"binary")
    (project / "main").chmod(0o755)


def test_the_key_reads_the_sources_and_not_the_data_or_what_make_wrote(tmp_path):
    a = compiled_cache.key(fake_project(tmp_path / "a"))
    b = fake_project(tmp_path / "b", data=b"other weights")
    assert compiled_cache.key(b) == a  # data travel as run_args
    fake_compile(b)
    (b / "results" / "x").write_bytes(b"results")
    assert compiled_cache.key(b) == a
    assert compiled_cache.key(fake_project(tmp_path / "c", source="int main() { return 1; }")) != a
    (b / "code_objects" / "b.cpp").write_text("// b")
    assert compiled_cache.key(b) != a


def test_a_stored_project_is_restored_newer_than_its_sources(tmp_path):
    first = fake_project(tmp_path / "first")
    fake_compile(first)
    entry = tmp_path / "cache" / compiled_cache.key(first)
    entry.parent.mkdir()
    compiled_cache.store(first, entry)
    assert sorted(p.relative_to(entry).as_posix() for p in entry.rglob("*") if p.is_file()) == [
        "code_objects/a.d",
        "code_objects/a.o",
        "main",
        "main.o",
    ]
    second = fake_project(tmp_path / "second")
    time.sleep(0.01)
    assert compiled_cache.restore(entry, second)
    assert (second / "main.o").read_bytes() == (first / "main.o").read_bytes()
    assert os.access(second / "main", os.X_OK)
    newest_source = max(p.stat().st_mtime_ns for p in compiled_cache.sources(second))
    outputs = [second / "main.o", second / "code_objects" / "a.o", second / "main"]
    assert all(p.stat().st_mtime_ns >= newest_source for p in outputs)  # make finds nothing to do
    assert (second / "main").stat().st_mtime_ns == max(p.stat().st_mtime_ns for p in outputs)


def test_an_entry_that_cannot_be_read_whole_leaves_nothing_behind(tmp_path, monkeypatch):
    first = fake_project(tmp_path / "first")
    fake_compile(first)
    entry = tmp_path / "cache" / "k"
    entry.parent.mkdir()
    compiled_cache.store(first, entry)
    second = fake_project(tmp_path / "second")
    real, calls = compiled_cache.shutil.copyfile, []

    def failing(src, dst):  # the entry pruned by another process halfway through
        calls.append(dst)
        if len(calls) == 2:
            raise FileNotFoundError(src)
        return real(src, dst)

    monkeypatch.setattr(compiled_cache.shutil, "copyfile", failing)
    assert not compiled_cache.restore(entry, second)
    assert not [p for p in second.rglob("*") if p.is_file() and compiled_cache.compiled(p, second)]
    assert not compiled_cache.restore(tmp_path / "cache" / "missing", second)


def test_a_second_store_of_the_same_entry_keeps_the_first_whole(tmp_path):
    first = fake_project(tmp_path / "first")
    fake_compile(first)
    entry = tmp_path / "cache" / "k"
    entry.parent.mkdir()
    compiled_cache.store(first, entry)
    (first / "main").write_bytes(b"another binary")
    compiled_cache.store(first, entry)  # a parallel worker that compiled the same project
    assert (entry / "main").read_bytes() == b"binary"
    assert [p.name for p in entry.parent.iterdir()] == ["k"]  # no temporary left


def test_the_cache_keeps_the_most_recently_used_entries(tmp_path):
    for i in range(5):
        (tmp_path / f"e{i}").mkdir()
        os.utime(tmp_path / f"e{i}", (1000 + i, 1000 + i))
    os.utime(tmp_path / "e0", None)  # just used
    (tmp_path / ".e9-123-4").mkdir()  # a temporary left by a process that died, long ago
    os.utime(tmp_path / ".e9-123-4", (1000, 1000))
    compiled_cache.prune(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e0", "e4"]


@pytest.mark.parametrize(("value", "expected"), [("off", None), ("OFF", None), ("0", None), ("~/c", "~/c/compiled")])
def test_the_cache_directory_is_chosen_by_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("SPIKEFA_CACHE", value)
    assert compiled_cache.root() == (None if expected is None else compiled_cache.Path(expected).expanduser())
    monkeypatch.delenv("SPIKEFA_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert compiled_cache.root() == compiled_cache.Path("/somewhere/spikefa/compiled")
    assert compiled_cache.root("integration") == compiled_cache.Path("/somewhere/spikefa/integration")
