"""tools/reproduce_table.py: the four released val2017 rows, missing files, and one row
measured through tools/test.py (detector boxes file, flip test, CocoMetric) on a tiny COCO
layout whose keypoints are what the released-layout recipe model predicts."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hrformer_common.testing import load_tool, manifest, recipe_state_dict, release_table
from hrformer_common.testing.readme import assert_readme_lists_rows
from demo.stick_figures import make_split
from mmpose.apis import inference_topdown, init_model

POSE = Path(__file__).resolve().parents[1]


tool = load_tool(POSE / "tools" / "reproduce_table.py")


def test_rows_are_the_released_ones():
    released = release_table("Results on COCO `val2017`")
    assert [r.name for r in tool.ROWS] == [f"{r['Backbone']} {r['Input Size']}"
                                          for r in released]
    columns = {"AP": "AP", "AP50": "AP50", "AP75": "AP75", "APM": "ARM", "APL": "ARL",
               "AR": "AR"}   # the original's table calls the medium / large AP ARM / ARL
    for row, rel in zip(tool.ROWS, released):
        assert (row.ckpt_link, row.log_link) == (rel["ckpt"], rel["log"])
        assert row.paper == {m: float(rel[c].rstrip("%")) for m, c in columns.items()}
        assert row.file == Path(rel["script"]).stem + ".pth"
        assert (POSE / row.settings["config"]).is_file()


def test_empty_folder_lists_every_row_missing(tmp_path):
    empty = tmp_path / "ckpts"
    empty.mkdir()
    records = tool.run(["--checkpoints", str(empty), "--data", str(tmp_path / "none"),
                        "--json", str(tmp_path / "t.json")])
    assert json.loads((tmp_path / "t.json").read_text()) == records
    assert len(records) == 24 and all(r["measured"] is None for r in records)
    assert records[0] == {"row": "HRFormer-S 256x192", "metric": "AP", "paper": 74.0,
                          "measured": None, "error": None,
                          "file": "hrt_small_coco_256x192.pth",
                          "link": "https://1drv.ms/u/s!Ai-PFrdirDvwj2PC53KZd-7v3X0H?e=hUZ0fE"}


def write_coco(root: Path, config: Path, checkpoint: Path) -> None:
    """`root/coco` in the README's layout: stick-figure images, detector boxes (the ground
    truth boxes), and keypoints set to the model's flip-test predictions in those boxes."""
    coco = root / "coco"
    ann_file = make_split(coco, "val2017", 2, seed=3, size=128)
    gt = json.loads(ann_file.read_text())
    ann_file.unlink()
    model = init_model(str(config), str(checkpoint), device="cpu")
    for ann in gt["annotations"]:
        image = next(i for i in gt["images"] if i["id"] == ann["image_id"])
        x, y, w, h = ann["bbox"]
        result = inference_topdown(model, str(coco / "val2017" / image["file_name"]),
                                   np.array([[x, y, x + w, y + h]]), bbox_format="xyxy")
        kpts = result[0].pred_instances.keypoints[0]
        ann["keypoints"] = [float(v) for xy in kpts for v in (*xy, 2)]
        ann["num_keypoints"] = len(kpts)
    (coco / "annotations" / "person_keypoints_val2017.json").write_text(json.dumps(gt))
    detections = [{"image_id": a["image_id"], "category_id": 1, "bbox": a["bbox"],
                   "score": 1.0} for a in gt["annotations"]]
    (coco / "person_detection_results").mkdir()
    (coco / "person_detection_results" / "COCO_val2017_detections_AP_H_56_person.json"
     ).write_text(json.dumps(detections))


def test_one_checkpoint_is_measured_after_a_truncated_one_failed(tmp_path):
    torch.set_num_threads(1)
    row, truncated = tool.ROWS[0], tool.ROWS[1]
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    # The released layout (`keypoint_head.*`) of the HRFormer-S manifest, recipe weights.
    torch.save({"state_dict": recipe_state_dict(manifest("pose_hrt_small")["keys"])},
               ckpts / row.file)
    write_coco(tmp_path / "data", POSE / row.settings["config"], ckpts / row.file)
    (ckpts / truncated.file).write_bytes((ckpts / row.file).read_bytes()[:5000])
    records = tool.run(["--checkpoints", str(ckpts), "--data", str(tmp_path / "data"),
                        "--rows", truncated.name, row.name, "--work-dir", str(tmp_path / "work"),
                        "--out", str(tmp_path / "t.md"), "--json", str(tmp_path / "t.json")])
    measured = {r["metric"]: r["measured"] for r in records if r["row"] == row.name}
    assert measured["AP"] == pytest.approx(100.0)
    assert measured["AP50"] == measured["AP75"] == measured["AR"] == pytest.approx(100.0)
    failed = [r for r in records if r["row"] == truncated.name]
    assert all(r["measured"] is None for r in failed)
    assert failed[0]["error"].startswith(f"CheckpointError: cannot read checkpoint "
                                         f"{ckpts / truncated.file} (truncated")
    assert json.loads((tmp_path / "t.json").read_text()) == records
    table = (tmp_path / "t.md").read_text()
    assert "| HRFormer-S 256x192 | AP | 74.0 | 100.00 | +26.00 |" in table
    assert "| HRFormer-S 384x288 | AP | 75.6 | FAILED: CheckpointError:" in table


def test_missing_annotations_file_is_named_in_the_row(tmp_path):
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    (ckpts / tool.ROWS[0].file).write_bytes(b"")
    (tmp_path / "data" / "coco").mkdir(parents=True)
    records = tool.run(["--checkpoints", str(ckpts), "--data", str(tmp_path / "data"),
                        "--rows", tool.ROWS[0].name, "--work-dir", str(tmp_path / "work")])
    assert records[0]["error"].startswith("FileNotFoundError: ")
    assert "person_keypoints_val2017.json does not exist" in records[0]["error"]


@pytest.mark.parametrize("readme", ["../README.md", "README.md"])
def test_readme_tables_carry_links_and_file_names(readme):
    assert_readme_lists_rows(POSE / readme, tool.ROWS)
