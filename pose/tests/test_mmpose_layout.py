"""mmpose 1.x's own HRFormer: its COCO configs run on HRT, its checkpoints load everywhere."""
from __future__ import annotations

import runpy
from pathlib import Path

import mmpose
import pytest
import torch
from conftest import DEMO_CONFIG, POSE, data_options
from hrformer_pose.hrformer import DropPath, LocalWindowAttention
from hrformer_pose.mmpose_layout import from_mmpose_layout, is_mmpose_layout, to_mmpose_layout
from hrformer_common.testing import assert_matches_reference
from mmengine.config import Config
from mmpose.apis import init_model

MMPOSE_COCO = Path(mmpose.__file__).parent / ".mim/configs/body_2d_keypoint/topdown_heatmap/coco"
MMPOSE_CONFIGS = sorted(MMPOSE_COCO.glob("td-hm_hrformer-*.py"))
SMALL = MMPOSE_COCO / "td-hm_hrformer-small_8xb32-210e_coco-256x192.py"
INPUT = (1, 3, 128, 96)  # small, and a size mmpose's HRFormer supports (even at every stride)


def mmpose_config(path: Path, hrt: bool, with_rpe: bool | None = None) -> Config:
    """mmpose's config as installed; `hrt`: only the backbone type and custom_imports changed."""
    cfg = Config.fromfile(path)
    if hrt:
        cfg.model.backbone.type = "HRT"
        cfg.custom_imports = dict(imports=["hrformer_pose"], allow_failed_imports=False)
    if with_rpe is not None:
        cfg.model.backbone.extra.with_rpe = with_rpe
    return cfg


def shapes(state: dict) -> dict:
    return {k: tuple(v.shape) for k, v in state.items()}


def test_the_four_mmpose_configs_are_found():
    assert [p.name.split("_")[1] for p in MMPOSE_CONFIGS] == [
        "hrformer-base", "hrformer-base", "hrformer-small", "hrformer-small"]


@pytest.mark.parametrize("path", MMPOSE_CONFIGS, ids=lambda p: p.stem)
def test_mmpose_config_builds_and_runs_on_hrt(path):
    ours = init_model(mmpose_config(path, hrt=True), None, device="cpu").eval()
    theirs = init_model(mmpose_config(path, hrt=False), None, device="cpu")
    assert type(ours.backbone).__name__ == "HRT" and type(theirs.backbone).__name__ == "HRFormer"
    assert shapes(to_mmpose_layout(ours.state_dict())) == shapes(theirs.state_dict())
    extra = Config.fromfile(path).model.backbone.extra
    assert {m.use_bias for m in ours.modules() if isinstance(m, LocalWindowAttention)} == {True}
    rates = [m.p for m in ours.modules() if isinstance(m, DropPath)]
    assert max(rates) == pytest.approx(extra.drop_path_rate)
    with torch.no_grad():
        heatmaps = ours.head(ours.extract_feat(torch.randn(INPUT)))
    assert heatmaps.shape == (1, 17, INPUT[2] // 4, INPUT[3] // 4)
    assert torch.isfinite(heatmaps).all()


def _random_mmpose_checkpoint(tmp_path: Path, with_rpe: bool) -> tuple[torch.nn.Module, Path]:
    """mmpose's own HRFormer-S top-down model with seeded random weights, saved as mmpose does."""
    theirs = init_model(mmpose_config(SMALL, hrt=False, with_rpe=with_rpe), None, device="cpu")
    generator = torch.Generator().manual_seed(0)
    state = {}
    for key, value in theirs.state_dict().items():
        if value.is_floating_point():
            value = torch.randn(value.shape, generator=generator) * 0.05
            value = value.abs() + 0.5 if key.endswith("running_var") else value
        state[key] = value
    theirs.load_state_dict(state)
    path = tmp_path / "mmpose_layout.pth"
    torch.save({"meta": {}, "state_dict": state}, path)
    return theirs.eval(), path


def _heatmaps(model: torch.nn.Module) -> torch.Tensor:
    x = torch.randn(INPUT, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return model.head(model.extract_feat(x))


@pytest.mark.parametrize("with_rpe", [True, False])
def test_mmpose_checkpoint_loads_through_init_model(tmp_path, with_rpe):
    theirs, path = _random_mmpose_checkpoint(tmp_path, with_rpe)
    ours = init_model(mmpose_config(SMALL, hrt=True, with_rpe=with_rpe), str(path), device="cpu")
    assert_matches_reference(_heatmaps(ours), _heatmaps(theirs), "heatmaps, mmpose weights")
    # The hook converts; it does not alias: our q/k/v are the rows of mmpose's qkv.
    qkv = torch.load(path, weights_only=True)["state_dict"][
        "backbone.stage2.0.branches.0.0.attn.attn.qkv.weight"]
    k_proj = ours.state_dict()["backbone.stage2.0.branches.0.0.attn.attn.k_proj.weight"]
    assert torch.equal(k_proj, qkv.chunk(3)[1])


def test_convert_tool_reads_and_writes_the_mmpose_layout(tmp_path):
    theirs, path = _random_mmpose_checkpoint(tmp_path, with_rpe=True)
    convert = runpy.run_path(str(POSE / "tools" / "convert_official_checkpoint.py"))["convert"]
    convert(str(path), str(tmp_path / "ours.pth"))
    ours = torch.load(tmp_path / "ours.pth", weights_only=True)["state_dict"]
    assert not is_mmpose_layout(ours) and "backbone.stage4.0.branches.3.1.mlp.fc1.weight" in ours
    convert(str(tmp_path / "ours.pth"), str(tmp_path / "back.pth"), mmpose=True)
    back = torch.load(tmp_path / "back.pth", weights_only=True)["state_dict"]
    original = theirs.state_dict()
    assert list(back) == list(original)
    assert all(torch.equal(back[k], original[k]) for k in original)
    with pytest.raises(ValueError, match="exclude each other"):
        convert(str(path), str(tmp_path / "x.pth"), reverse=True, mmpose=True)


def test_layout_conversion_round_trip_and_errors():
    state = {"backbone.stage2.0.branches.0.0.attn.attn.qkv.weight": torch.arange(12.).view(6, 2),
             "backbone.stage2.0.branches.0.0.ffn.fc1.bias": torch.ones(2)}
    ours = from_mmpose_layout(state)
    assert sorted(ours) == ["backbone.stage2.0.branches.0.0.attn.attn.k_proj.weight",
                            "backbone.stage2.0.branches.0.0.attn.attn.q_proj.weight",
                            "backbone.stage2.0.branches.0.0.attn.attn.v_proj.weight",
                            "backbone.stage2.0.branches.0.0.mlp.fc1.bias"]
    assert torch.equal(ours["backbone.stage2.0.branches.0.0.attn.attn.v_proj.weight"],
                       torch.tensor([[8., 9.], [10., 11.]]))
    assert all(torch.equal(a, b) for a, b in zip(to_mmpose_layout(ours).values(),
                                                 state.values()))
    with pytest.raises(ValueError, match="5 rows"):
        from_mmpose_layout({"x.attn.attn.qkv.weight": torch.zeros(5, 2)})
    with pytest.raises(KeyError, match="v_proj.weight is missing"):
        to_mmpose_layout({k: v for k, v in ours.items() if "v_proj" not in k})


TRAIN = runpy.run_path(str(POSE / "tools" / "train.py"))
TEST = runpy.run_path(str(POSE / "tools" / "test.py"))


def _train(work_dir: Path, root: Path, epochs: int, *extra: str) -> dict:
    options = {**data_options(root), "train_dataloader.dataset.indices": 2,
               "train_cfg.max_epochs": epochs, "default_hooks.checkpoint.interval": 1,
               "randomness.seed": 0}
    TRAIN["main"]([str(DEMO_CONFIG), "--work-dir", str(work_dir), "--no-validate", *extra,
                   "--cfg-options", *(f"{k}={v}" for k, v in options.items())])
    return torch.load(work_dir / f"epoch_{epochs}.pth", weights_only=True)


def test_mmpose_layout_through_resume_load_from_and_test_tool(tmp_path, stick_data,
                                                              monkeypatch):
    """The Runner's loaders (--resume, --load-from, tools/test.py) read the mmpose layout."""
    first = _train(tmp_path / "a", stick_data, 1)
    mmpose_file = tmp_path / "mmpose_layout_epoch_1.pth"
    torch.save({**first, "state_dict": to_mmpose_layout(first["state_dict"])}, mmpose_file)
    assert is_mmpose_layout(torch.load(mmpose_file, weights_only=True)["state_dict"])

    resumed = _train(tmp_path / "b", stick_data, 2, "--resume", str(mmpose_file))
    assert resumed["meta"]["epoch"] == 2 and resumed["meta"]["iter"] == 2
    assert {int(s["step"]) for s in resumed["optimizer"]["state"].values()} == {2}

    ours_file = tmp_path / "a" / "epoch_1.pth"
    from_ours = _train(tmp_path / "c", stick_data, 1, "--load-from", str(ours_file))
    from_mmpose = _train(tmp_path / "d", stick_data, 1, "--load-from", str(mmpose_file))
    for key, value in from_ours["state_dict"].items():
        assert torch.equal(from_mmpose["state_dict"][key], value), key

    tested = []  # tools/test.py folds the model it evaluates, once
    fold = TEST["main"].__globals__["reparameterize_model"]
    monkeypatch.setitem(TEST["main"].__globals__, "reparameterize_model",
                        lambda model: tested.append(fold(model)))
    options = ["--cfg-options", *(f"{k}={v}" for k, v in data_options(stick_data).items())]
    ap = [TEST["main"]([str(DEMO_CONFIG), str(f), "--work-dir", str(tmp_path / f"t{i}"),
                        *options])["coco/AP"]
          for i, f in enumerate((ours_file, mmpose_file))]
    assert ap[0] == ap[1]
    assert len(tested) == 2 and all(m.backbone.folded and not m.training for m in tested)
