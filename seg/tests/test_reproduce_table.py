"""tools/reproduce_table.py: the 12 released rows, missing files, and one row measured through
main.py's test phase (single scale, then multi-scale + flip) on tiny PASCAL-Context data."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers_scripts import script_flags
from hrformer_common.testing import manifest, recipe_state_dict, release_table
from hrformer_common.testing.readme import assert_readme_lists_rows
from lib.models import build_segmentor
from hrformer_common.checkpoint import load_weights
from lib.metrics.evaluate import score_folders
from lib.utils.configer import Configer
from main import main as seg_main
from tools import reproduce_table as tool

SEG = Path(__file__).resolve().parents[1]
RELEASE_TITLES = {"Cityscapes": "Cityscapes", "PASCAL-Context": "PASCAL-Context",
                  "COCO-Stuff": "COCO-Stuff", "ADE20K": "ADE20K"}


def release_rows() -> list[dict]:
    """The segmentation tables of RELEASES.md (the contract data), released rows only."""
    return [{**row, "dataset": title} for title in RELEASE_TITLES
            for row in release_table(title) if row["ckpt"] != "-"]


def test_rows_are_the_released_ones():
    released = release_rows()
    assert len(tool.ROWS) == len(released) == 12
    for row, rel in zip(tool.ROWS, released):
        assert row.name == (f"{rel['dataset']} OCRNet {rel['Backbone']} {rel['Window Size']}")
        assert (row.ckpt_link, row.log_link) == (rel["ckpt"], rel["Log"])
        assert row.paper == {"mIoU": float(rel["mIoU"]),
                             "mIoU (Multi-Scale)": float(rel["mIoU (Multi-Scale)"])}
        assert row.settings["script"] == rel["script"].removeprefix("./seg/")
        # the settings the row's run script resolves to (its multi-scale `val`)
        val = script_flags(SEG / row.settings["script"], ["val"])
        folder = row.settings["folder"]
        assert (val["--backbone"], val["--model_name"], val["--configs"], val["--data_dir"]) == \
            (row.settings["backbone"], row.settings["model_name"],
             f"configs/{folder}/{row.settings['ms_config']}",
             f"/data/{row.settings['subdir']}"), row.name
    assert len({row.file for row in tool.ROWS}) == 12


def test_empty_folder_lists_every_row_missing(tmp_path):
    empty = tmp_path / "ckpts"
    empty.mkdir()
    records = tool.run(["--checkpoints", str(empty), "--data", str(tmp_path / "none"),
                        "--json", str(tmp_path / "t.json"), "--work_dir", str(tmp_path / "w")])
    assert json.loads((tmp_path / "t.json").read_text()) == records
    assert len(records) == 24 and all(r["measured"] is None for r in records)
    assert records[0] == {"row": "Cityscapes OCRNet HRFormer-S 7x7", "metric": "mIoU",
                          "paper": 80.0, "measured": None, "error": None,
                          "file": "cityscapes_hrt_small_ocr_v2_ohem.pth",
                          "link": "https://1drv.ms/u/s!Ai-PFrdirDvwj3Wsg-_ApKUAEUft?e=BnhLal"}


def write_pascal_checkpoint(path: Path) -> None:
    """The HRFormer-S OCR v2 manifest with its class dimension set to PASCAL-Context's 59,
    recipe weights, in the released openseg layout (`state_dict`, `module.` keys)."""
    keys = [[name, [59, *shape[1:]] if shape[:1] == [19] else shape, dtype]
            for name, shape, dtype in manifest("seg_hrt_small_ocr_v2")["keys"]]
    model = build_segmentor("hrt_small_ocr_v2", "hrt_small", 59)
    load_weights(model, recipe_state_dict(keys), "recipe weights")
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, path)


def test_one_checkpoint_is_measured_after_a_truncated_one_failed(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    # Speed only: the PASCAL-Context configs resize images to a short side of 520 first; the
    # tiny images are tested at their own size (every other setting is the row's).
    row_args = tool.main_args
    monkeypatch.setattr(tool, "main_args",
                        lambda *a: row_args(*a) + ["val_trans.trans_seq", "[]"])
    ckpts, data = tmp_path / "ckpts", tmp_path / "data"
    ckpts.mkdir()
    row = next(r for r in tool.ROWS if r.name == "PASCAL-Context OCRNet HRFormer-S 7x7")
    write_pascal_checkpoint(ckpts / row.file)
    val = data / "pascal_context" / "val"
    rng = np.random.default_rng(0)
    for folder in ("image", "label"):
        (val / folder).mkdir(parents=True)
    for name in ("2008_000009", "2010_000030"):
        Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(
            val / "image" / f"{name}.jpg")
        Image.fromarray(np.ones((40, 56), dtype=np.uint8), mode="L").save(
            val / "label" / f"{name}.png")
    # Ground truth = what the model predicts single-scale (the run script's `val ss`).
    seg_main(tool.main_args(row, ckpts / row.file, data, "H_48_D_4.json")
             + ["--out_dir", str(tmp_path / "pred")])
    for path in (tmp_path / "pred" / "label").glob("*.png"):
        shutil.copyfile(path, val / "label" / path.name)
        assert len(np.unique(np.asarray(Image.open(path)))) > 1   # not one constant class
    truncated = next(r for r in tool.ROWS if r.name == "PASCAL-Context OCRNet HRFormer-B 7x7")
    (ckpts / truncated.file).write_bytes((ckpts / row.file).read_bytes()[:5000])
    records = tool.run(["--checkpoints", str(ckpts), "--data", str(data), "--rows",
                        truncated.name, row.name, "--out", str(tmp_path / "t.md"),
                        "--json", str(tmp_path / "t.json"), "--work-dir", str(tmp_path / "work")])
    failed = [r for r in records if r["row"] == truncated.name]
    assert [r["measured"] for r in failed] == [None, None]
    assert failed[0]["error"].startswith(f"CheckpointError: cannot read checkpoint "
                                         f"{ckpts / truncated.file} (truncated")
    assert json.loads((tmp_path / "t.json").read_text()) == records
    assert f"| {truncated.name} | mIoU | 56.3 | FAILED: CheckpointError:" in \
        (tmp_path / "t.md").read_text()
    measured = {r["metric"]: r["measured"] for r in records if r["row"] == row.name}
    assert measured["mIoU"] == pytest.approx(100.0)
    # The multi-scale + flip predictions it wrote, scored by the offline evaluator.
    configer = Configer.from_file(SEG / "configs/pascal_context/H_48_D_4.json")
    ms_labels = tmp_path / "work" / Path(row.file).stem / "ms" / "label"
    offline = score_folders(configer, ms_labels, val / "label").miou()
    assert measured["mIoU (Multi-Scale)"] == pytest.approx(100 * offline)
    assert f"| {row.name} | mIoU | 53.8 | 100.00 | +46.20 | `{row.file}` |" in \
        (tmp_path / "t.md").read_text()


@pytest.mark.parametrize("readme", ["../README.md", "README.md"])
def test_readme_tables_carry_links_and_file_names(readme):
    assert_readme_lists_rows(SEG / readme, tool.ROWS)


def test_cli_names_a_missing_checkpoints_folder(tmp_path):
    missing = tmp_path / "no_such_folder"
    out = subprocess.run([sys.executable, "tools/reproduce_table.py", "--checkpoints",
                          str(missing), "--data", str(tmp_path)], cwd=SEG,
                         capture_output=True, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 2
    assert f"--checkpoints folder {missing} does not exist" in out.stderr
