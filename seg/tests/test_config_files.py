"""JSON configs with `_base_` inheritance: each *_TEST*.json is its dataset's H_48_D_4.json plus
the multi-scale test settings below, and nothing else (values as the files held them before
they were reduced to their differences)."""
import json
from pathlib import Path

import pytest

from lib.utils.configer import Configer, merge_dicts

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SEVEN = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
THREE = [0.75, 1.0, 1.25]
MS = {"val.mode": "ms_test", "test.mode": "ms_test"}
# test config -> the dotted keys it changes in its base, with their values
OVERRIDES = {
    "ade20k/H_48_D_4_TEST.json": {**MS, "test.scale_search": SEVEN},
    "ade20k/H_48_D_4_TEST_MS3x.json": {**MS, "test.scale_search": THREE},
    "cityscapes/H_48_D_4_TEST.json": {**MS, "test.scale_search": SEVEN},
    "cityscapes/H_48_D_4_TEST_MS3x.json": {**MS, "test.scale_search": THREE},
    "cityscapes/H_48_D_4_TEST_MS6x.json": {**MS, "test.scale_search": SEVEN[:-1]},
    "coco_stuff/H_48_D_4_TEST.json": {**MS, "test.scale_search": SEVEN},
    "coco_stuff/H_48_D_4_TEST_MS3x.json": {**MS, "test.scale_search": THREE},
    "demo/H_48_D_4_TEST_MS3x.json": {"test.mode": "ms_test", "test.scale_search": THREE},
    "pascal_context/H_48_D_4_TEST.json": {**MS, "test.scale_search": SEVEN,
                                          "val.batch_size": 8, "test.batch_size": 8},
    "pascal_context/H_48_D_4_TEST_MS3x.json": {**MS, "test.scale_search": THREE,
                                               "val.batch_size": 8, "test.batch_size": 8},
}


def flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def test_every_test_config_is_listed():
    found = {str(p.relative_to(CONFIGS)) for p in CONFIGS.glob("*/H_48_D_4_TEST*.json")}
    assert found == set(OVERRIDES)


@pytest.mark.parametrize("name", sorted(OVERRIDES))
def test_test_config_is_its_base_plus_the_test_settings(name):
    path = CONFIGS / name
    assert json.loads(path.read_text())["_base_"] == "H_48_D_4.json"
    base = flat(Configer.from_file(path.parent / "H_48_D_4.json").to_dict())
    resolved = flat(Configer.from_file(path).to_dict())
    assert resolved.keys() == base.keys()
    changed = {k: v for k, v in resolved.items() if v != base[k]}
    assert changed == OVERRIDES[name]


def test_sections_merge_and_other_values_replace():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 2}
    merged = merge_dicts(base, {"a": {"y": [3]}, "c": {"z": 0}})
    assert merged == {"a": {"x": 1, "y": [3]}, "b": 2, "c": {"z": 0}}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 2}  # inputs are not modified


def write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_bases_chain_and_merge_in_order(tmp_path):
    write(tmp_path / "root.json", {"lr": {"base_lr": 0.1, "policy": "poly"}, "seed": 1})
    write(tmp_path / "mid.json", {"_base_": "root.json", "lr": {"base_lr": 0.2}})
    write(tmp_path / "other.json", {"seed": 2})
    leaf = write(tmp_path / "leaf.json", {"_base_": ["mid.json", "other.json"], "seed": 3,
                                          "data": {"workers": 0}})
    assert Configer.from_file(leaf).to_dict() == {
        "lr": {"base_lr": 0.2, "policy": "poly"}, "seed": 3, "data": {"workers": 0}}
    assert Configer.from_file(tmp_path / "mid.json").get("seed") == 1


def test_bad_bases_are_reported(tmp_path):
    missing = write(tmp_path / "a.json", {"_base_": "nowhere.json"})
    with pytest.raises(FileNotFoundError, match=r"nowhere\.json does not exist \(the _base_ of"):
        Configer.from_file(missing)
    write(tmp_path / "x.json", {"_base_": "y.json"})
    write(tmp_path / "y.json", {"_base_": "x.json"})
    with pytest.raises(ValueError, match=r"_base_ cycle .*x\.json -> .*y\.json -> .*x\.json"):
        Configer.from_file(tmp_path / "x.json")
    with pytest.raises(ValueError, match=r"_base_ must be a file name .* got 3"):
        Configer.from_file(write(tmp_path / "n.json", {"_base_": 3}))
