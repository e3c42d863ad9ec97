"""hrformer_common.outputs: output paths checked up front, unique result names."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from hrformer_common.outputs import (OutputPathError, check_output_dir, check_output_file,
                                     result_names)


def _unwritable(tmp_path: Path) -> Path:
    """A folder this process cannot write in (root writes anywhere a mode allows: procfs)."""
    if os.geteuid() == 0:
        return Path("/proc/1")
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def test_output_files_are_checked_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("")
    assert check_output_file(tmp_path / "new" / "deeper" / "out.png", (".png", ".jpg")) == \
        tmp_path / "new" / "deeper" / "out.png"
    assert not (tmp_path / "new").exists()            # checked, nothing created
    with pytest.raises(OutputPathError, match=r"out: expected a file name ending in \.png or "
                                              r"\.jpg"):
        check_output_file(tmp_path / "out", (".png", ".jpg"))
    with pytest.raises(OutputPathError, match="a_file is a file, not a folder"):
        check_output_file(tmp_path / "a_file" / "out.png", (".png",))
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(OutputPathError, match="is a folder; give a file name"):
        check_output_file(tmp_path / "dir.png", (".png",))
    with pytest.raises(OutputPathError, match="cannot write in"):
        check_output_file(_unwritable(tmp_path) / "out.png", (".png",))


def test_output_folders_are_checked(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("")
    assert check_output_dir(tmp_path / "x" / "y") == tmp_path / "x" / "y"
    with pytest.raises(OutputPathError, match="a_file: is a file, not a folder"):
        check_output_dir(tmp_path / "a_file")
    with pytest.raises(OutputPathError, match="cannot write in"):
        check_output_dir(_unwritable(tmp_path) / "results")


def test_result_names_keep_folders_and_never_collide(tmp_path: Path) -> None:
    inputs = [tmp_path / "pic.jpg", tmp_path / "pic.png", tmp_path / "a" / "x.jpg",
              tmp_path / "b" / "x.jpg", tmp_path / "solo.PNG"]
    names = result_names(inputs, tmp_path)
    assert names == {inputs[0]: Path("pic_jpg"), inputs[1]: Path("pic_png"),
                     inputs[2]: Path("a/x"), inputs[3]: Path("b/x"), inputs[4]: Path("solo")}
    assert result_names([tmp_path / "one.jpg"]) == {tmp_path / "one.jpg": Path("one")}
    with pytest.raises(OutputPathError, match="would both be written as pic_jpg"):
        result_names([tmp_path / "pic.jpg", tmp_path / "pic.png", tmp_path / "pic_jpg.bmp"],
                     tmp_path)
