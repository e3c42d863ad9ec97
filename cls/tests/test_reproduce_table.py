"""tools/reproduce_table.py: the released rows, missing files, and one row measured through
the run_eval.sh path on a tiny zip-layout ImageNet whose labels the recipe model predicts."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import main as cls_main
from data import build_loaders
from engine.loop import Amp
from models import build_model
from hrformer_common.testing import load_recipe_weights, load_tool, release_table
from hrformer_common.testing.readme import assert_readme_lists_rows

pytestmark = pytest.mark.usefixtures("one_thread")
CLS = Path(__file__).resolve().parents[1]


tool = load_tool(CLS / "tools" / "reproduce_table.py")


def test_rows_are_the_released_ones():
    released = release_table("Results on ImageNet-1K")
    assert [r.name for r in tool.ROWS] == [r["Backbone"] for r in released]
    for row, rel in zip(tool.ROWS, released):
        assert (row.ckpt_link, row.log_link) == (rel["ckpt"], rel["log"])
        assert row.paper == {"acc@1": float(rel["acc@1"].rstrip("%")),
                             "acc@5": float(rel["acc@5"].rstrip("%"))}
        assert row.settings["config"] == rel["script"].removeprefix("./cls/")
        assert (CLS / row.settings["config"]).is_file()


def test_empty_folder_lists_every_row_missing(tmp_path, capsys):
    empty = tmp_path / "ckpts"
    empty.mkdir()
    records = tool.run(["--checkpoints", str(empty), "--data", str(tmp_path / "none"),
                        "--json", str(tmp_path / "t.json"), "--out", str(tmp_path / "t.md")])
    assert json.loads((tmp_path / "t.json").read_text()) == records
    assert [(r["row"], r["metric"]) for r in records] == [
        (row, metric) for row in ("HRFormer-T", "HRFormer-S", "HRFormer-B")
        for metric in ("acc@1", "acc@5")]
    assert all(r["measured"] is None for r in records)
    assert records[2] == {"row": "HRFormer-S", "metric": "acc@1", "paper": 81.2,
                          "measured": None, "error": None, "file": "hrt_small.pth",
                          "link": "https://1drv.ms/u/s!Ai-PFrdirDvwj1cc3tSp4kIKI_JH?e=bHW7xj"}
    table = (tmp_path / "t.md").read_text()
    assert table.count("missing ([download](https://1drv.ms/") == 6
    assert "[3/3] HRFormer-B: missing" in capsys.readouterr().out


def test_unknown_row_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="unknown rows \\['HRFormer-X'\\]"):
        tool.run(["--checkpoints", str(tmp_path), "--data", str(tmp_path),
                  "--rows", "HRFormer-X"])


def write_zip_imagenet(root: Path, labels: list[int], images: list[bytes]) -> None:
    """The zip layout (train.zip, val.zip and their maps); train holds one image."""
    root.mkdir(parents=True, exist_ok=True)
    for split, items in (("train", [(images[0], 0)]), ("val", list(zip(images, labels)))):
        lines = []
        with zipfile.ZipFile(root / f"{split}.zip", "w") as archive:
            for i, (data, label) in enumerate(items):
                member = f"n{label:08d}/{split}_{i}.JPEG"
                archive.writestr(member, data)
                lines.append(f"{member}\t{label}\n")
        (root / f"{split}_map.txt").write_text("".join(lines))


def predicted_labels(checkpoint: Path, data: Path, tmp_path: Path) -> list[int]:
    """What the recipe model predicts for each val image, through the same config, loader
    and autocast as `main.py --eval`."""
    args = cls_main.parse_args(["--eval", "--cfg", str(CLS / "configs/hrt/hrt_tiny.yaml"),
                                "--resume", str(checkpoint), "--data-path", str(data),
                                "--output", str(tmp_path / "out")])
    config = cls_main.build_config(args)
    _, _, _, loader = build_loaders(config, train=False)
    model = build_model(config)
    model.load_state_dict(torch.load(checkpoint, weights_only=True)["model"])
    model.eval()
    amp = Amp.from_config(config, torch.device("cpu"))
    with torch.no_grad(), amp.autocast():
        return [int(v) for images, _, _ in loader for v in model(images).float().argmax(1)]


def test_one_checkpoint_is_measured_after_a_truncated_one_failed(tmp_path):
    rng = np.random.default_rng(0)
    images = []
    for _ in range(3):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(buffer, "JPEG")
        images.append(buffer.getvalue())
    data = tmp_path / "imagenet"
    write_zip_imagenet(data, [0, 0, 0], images)
    model = build_model(cls_main.build_config(cls_main.parse_args(
        ["--cfg", str(CLS / "configs/hrt/hrt_tiny.yaml"), "--data-path", str(data)])))
    load_recipe_weights(model, "cls_hrt_tiny")
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    torch.save({"model": model.state_dict()}, ckpts / "hrt_tiny.pth")
    labels = predicted_labels(ckpts / "hrt_tiny.pth", data, tmp_path)
    write_zip_imagenet(data, labels, images)
    # A truncated file, evaluated first: its row fails on its own, the next one runs.
    (ckpts / "hrt_small.pth").write_bytes((ckpts / "hrt_tiny.pth").read_bytes()[:5000])
    records = tool.run(["--checkpoints", str(ckpts), "--data", str(data), "--rows",
                        "HRFormer-S", "HRFormer-T", "--out", str(tmp_path / "t.md"),
                        "--json", str(tmp_path / "t.json"), "--work-dir", str(tmp_path / "work")])
    measured = {(r["row"], r["metric"]): r["measured"] for r in records}
    assert measured == {("HRFormer-T", "acc@1"): 100.0, ("HRFormer-T", "acc@5"): 100.0,
                        ("HRFormer-S", "acc@1"): None, ("HRFormer-S", "acc@5"): None}
    errors = {r["row"]: r["error"] for r in records}
    assert errors["HRFormer-T"] is None
    assert errors["HRFormer-S"].startswith(f"CheckpointError: cannot read checkpoint "
                                           f"{ckpts / 'hrt_small.pth'} (truncated")
    assert json.loads((tmp_path / "t.json").read_text()) == records
    assert (tmp_path / "work/hrt_tiny/hrt_tiny/eval/config.yaml").is_file()
    table = (tmp_path / "t.md").read_text()
    assert "| HRFormer-T | acc@1 | 78.6 | 100.00 | +21.40 | `hrt_tiny.pth` |" in table
    assert "| HRFormer-S | acc@1 | 81.2 | FAILED: CheckpointError: cannot read checkpoint" in table


def test_cli_exits_non_zero_after_writing_a_failed_row(tmp_path, monkeypatch):
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    (ckpts / "hrt_base.pth").write_bytes(b"PK\x03\x04 not a whole file")
    (tmp_path / "data").mkdir()
    monkeypatch.setattr("sys.argv", ["reproduce_table.py", "--checkpoints", str(ckpts),
                                     "--data", str(tmp_path / "data"), "--json",
                                     str(tmp_path / "t.json")])
    with pytest.raises(SystemExit) as exit_status:
        tool.TOOL.cli()
    assert exit_status.value.code == 1
    records = json.loads((tmp_path / "t.json").read_text())
    assert [r["row"] for r in records if r["error"]] == ["HRFormer-B", "HRFormer-B"]


@pytest.mark.parametrize("readme", ["../README.md", "README.md"])
def test_readme_tables_carry_links_and_file_names(readme):
    assert_readme_lists_rows(CLS / readme, tool.ROWS)
