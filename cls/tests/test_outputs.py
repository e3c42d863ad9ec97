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


def test_a_result_that_appeared_meanwhile_is_never_replaced(tmp_path: Path) -> None:
    """Issue 24, row 5: two runs writing one name: the later final rename fails naming the
    file, which keeps the first run's content; `replace=True` (checkpoints) still replaces."""
    from hrformer_common.atomic import FileAppearedError, atomic_path, write_text_atomic
    target = tmp_path / "clip.json"
    with pytest.raises(FileAppearedError, match=f"{target} appeared while this run was "
                                                "writing it"):
        with atomic_path(target, replace=False) as temp:
            temp.write_text("second run")
            target.write_text("first run")       # the other run finished meanwhile
    assert target.read_text() == "first run"
    assert [p.name for p in tmp_path.iterdir()] == ["clip.json"]  # no temp left behind
    write_text_atomic("replaced", target)
    assert target.read_text() == "replaced"


def test_only_temps_of_dead_processes_are_removed(tmp_path: Path) -> None:
    """Issue 24, row 5: a live writer's temp file survives another writer's cleanup."""
    import subprocess
    import sys
    from hrformer_common.atomic import TEMP_INFIX, remove_stale_temps
    target = tmp_path / "clip.mp4"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    try:
        live_temp = tmp_path / f".clip.mp4{TEMP_INFIX}{live.pid}"
        dead_temp = tmp_path / f".clip.mp4{TEMP_INFIX}{dead.stdout.strip()}"
        live_temp.write_text("frames of a run in progress")
        dead_temp.write_text("left by a killed run")
        assert remove_stale_temps(target) == [dead_temp]
        assert live_temp.exists() and not dead_temp.exists()
    finally:
        live.kill()
        live.wait()


def test_result_plans_refuse_skip_or_overwrite_before_any_work(tmp_path: Path) -> None:
    """Issue 24, rows 3 and 6: existing results are refused by default, naming them and the
    flags; --skip-existing keeps complete inputs and redoes partial ones; --overwrite all."""
    from hrformer_common.outputs import plan_results
    done, partial, new = (tmp_path / n for n in ("a", "b", "c"))
    for path in (done.with_suffix(".jpg"), done.with_suffix(".json"), partial.with_suffix(".jpg")):
        path.write_text("x")
    targets = {name: [p.with_suffix(".jpg"), p.with_suffix(".json")]
               for name, p in (("a", done), ("b", partial), ("c", new))}
    with pytest.raises(OutputPathError, match=r"a\.jpg, .*a\.json, .*b\.jpg exists; .*"
                                              r"--skip-existing .* --overwrite"):
        plan_results(targets)
    skip = plan_results(targets, "skip")
    assert (skip.todo, skip.done) == (["b", "c"], ["a"])
    assert skip.may_replace(partial.with_suffix(".jpg")) and not skip.may_replace(
        done.with_suffix(".jpg")) and not skip.may_replace(new.with_suffix(".jpg"))
    overwrite = plan_results(targets, "overwrite")
    assert overwrite.todo == ["a", "b", "c"] and overwrite.may_replace(done.with_suffix(".json"))


def test_folders_and_the_output_folder_are_never_images(tmp_path: Path) -> None:
    """Issue 24, rows 3 and 4: a folder named like an image is not one; the output folder
    inside the input folder is left out; the input folder itself is refused as output."""
    from PIL import Image
    from hrformer_common.images import find_images
    from hrformer_common.outputs import check_apart
    (tmp_path / "album.png").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "album.png" / "a.png")
    (tmp_path / "out" / "label").mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(tmp_path / "out" / "label" / "a.png")
    assert find_images(tmp_path, exclude=[tmp_path / "out"]) == [tmp_path / "album.png" / "a.png"]
    check_apart(tmp_path / "out", tmp_path)
    with pytest.raises(OutputPathError, match="is the input folder"):
        check_apart(tmp_path / ".", tmp_path)


def test_result_plans_never_replace_an_input_and_redo_incomplete_results(tmp_path: Path) -> None:
    from hrformer_common.outputs import plan_results
    image = tmp_path / "x.jpg"
    image.write_text("an input")
    with pytest.raises(OutputPathError, match=f"the result {image} would replace the input"):
        plan_results({image: [image]}, "overwrite")
    video = tmp_path / "walk.mp4"
    video.write_text("an input")
    results = [tmp_path / "out.mp4", tmp_path / "out.json"]
    for path in results:
        path.write_text("x")
    assert plan_results({video: results}, "skip").done == [video]
    partial = plan_results({video: results}, "skip", complete=lambda key: False)
    assert partial.todo == [video] and all(partial.may_replace(p) for p in results)
