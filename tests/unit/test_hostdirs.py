"""mkemu/hostdirs.py: the host directories a machine makes and removes for itself."""

import os
import stat

from mkemu.hostdirs import make_dir, remove_tree, temp_root


def test_remove_tree_removes_nested_entries_and_never_follows_links(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("host file")
    top = tmp_path / "top"
    (top / "a" / "b").mkdir(parents=True)
    (top / "a" / "b" / "f").write_text("x")
    (top / "file").write_text("y")
    os.symlink(outside, top / "a" / "link-to-dir")
    os.symlink(outside / "keep", top / "link-to-file")
    os.mkfifo(top / "fifo")
    remove_tree(str(top))
    assert not top.exists()
    assert (outside / "keep").read_text() == "host file"     # what the links led to stays


def test_remove_tree_of_a_missing_directory_does_nothing(tmp_path):
    remove_tree(str(tmp_path / "absent"))
    remove_tree(os.fsencode(tmp_path / "absent"))
    assert list(tmp_path.iterdir()) == []


def test_make_dir_gives_new_names_with_the_mode_asked(tmp_path):
    made = {make_dir(str(tmp_path), "mkemu-x-") for _ in range(50)}
    assert len(made) == 50
    for d in made:
        assert os.path.basename(d).startswith("mkemu-x-")
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    sticky = make_dir(str(tmp_path), "mkemu-shm-", 0o1777)
    assert stat.S_IMODE(os.stat(sticky).st_mode) == 0o1777


def test_temp_root_follows_a_usable_tmpdir_only(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert temp_root() == str(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "absent"))
    assert temp_root() == "/tmp"
    monkeypatch.delenv("TMPDIR")
    assert temp_root() == "/tmp"
