"""The COCO configs: they build, hold the original's settings, and load official weights."""
from __future__ import annotations

import runpy
import shutil

import pytest
import torch
from conftest import COCO_CONFIGS, DEMO_CONFIG, POSE
from hrformer_pose.hooks import AtomicCheckpointHook
from hrformer_pose.device import adapt_to_device
from hrformer_common.testing import (assert_matches_reference, fixture, manifest, recipe_state_dict,
                              seeded_input)
from mmengine.config import Config
from mmengine.hooks import CheckpointHook
from mmengine.registry import init_default_scope
from mmpose.apis import init_model
from mmpose.registry import HOOKS, TRANSFORMS

NAMES = [p.stem for p in COCO_CONFIGS]
SMALL = POSE / "configs/hrformer/coco/hrt_small_coco_256x192.py"
# Exact parameter counts (backbone + head); small and base equal the key manifests' counts.
PARAMS = {"hrt_tiny_coco_256x192": 2_524_759, "hrt_small_coco_256x192": 7_746_779,
          "hrt_small_coco_384x288": 7_746_779, "hrt_base_coco_256x192": 43_211_777,
          "hrt_base_coco_384x288": 43_211_777}
# (input w, h, sigma, drop path, images per GPU)
SETTINGS = {"hrt_tiny_coco_256x192": (192, 256, 2, 0.1, 32),
            "hrt_small_coco_256x192": (192, 256, 2, 0.1, 32),
            "hrt_small_coco_384x288": (288, 384, 3, 0.1, 32),
            "hrt_base_coco_256x192": (192, 256, 2, 0.2, 32),
            "hrt_base_coco_384x288": (288, 384, 3, 0.3, 8)}


def test_all_configs_are_present():
    assert sorted(NAMES) == sorted(PARAMS)


@pytest.mark.parametrize("name", NAMES)
def test_init_model_builds_every_config(name):
    model = init_model(str(POSE / "configs/hrformer/coco" / f"{name}.py"), None, device="cpu")
    assert sum(p.numel() for p in model.parameters()) == PARAMS[name]
    assert model.dataset_meta["num_keypoints"] == 17
    assert isinstance(model.head.deconv_layers, torch.nn.Identity)
    final = model.head.final_layer
    assert final.kernel_size == (1, 1) and final.out_channels == 17


@pytest.mark.parametrize("name", NAMES)
def test_config_holds_the_original_settings(name):
    cfg = Config.fromfile(POSE / "configs/hrformer/coco" / f"{name}.py")
    width, height, sigma, drop_path, batch = SETTINGS[name]
    wrapper = cfg.optim_wrapper
    assert wrapper.type == "AmpOptimWrapper" and wrapper.loss_scale.init_scale == 2.0 ** 32
    assert wrapper.optimizer == dict(type="AdamW", lr=5e-4, betas=(0.9, 0.999),
                                     weight_decay=0.01)
    assert wrapper.paramwise_cfg.custom_keys == {"relative_position_bias_table":
                                                 {"decay_mult": 0.0}}
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.end, warmup.start_factor, warmup.by_epoch) == (
        "LinearLR", 501, 0.001, False)
    assert (steps.type, steps.milestones, steps.gamma) == ("MultiStepLR", [170, 200], 0.1)
    assert cfg.train_cfg.max_epochs == 210 and cfg.train_cfg.val_interval == 10
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.codec.input_size == (width, height) and cfg.codec.sigma == sigma
    assert cfg.codec.heatmap_size == (width // 4, height // 4)
    assert cfg.model.backbone.norm_cfg.type == "SyncBN"
    assert cfg.model.backbone.extra.drop_path_rate == drop_path
    assert cfg.model.test_cfg == dict(flip_test=True, flip_mode="heatmap", shift_heatmap=True)
    assert cfg.val_dataloader.dataset.bbox_file.endswith(
        "COCO_val2017_detections_AP_H_56_person.json")
    assert cfg.val_dataloader.dataset.filter_cfg.bbox_score_thr == 0.0
    assert (cfg.val_evaluator.nms_thr, cfg.val_evaluator.keypoint_score_thr) == (0.9, 0.2)
    assert cfg.model_wrapper_cfg.find_unused_parameters


@pytest.mark.parametrize("path", [*COCO_CONFIGS, DEMO_CONFIG], ids=lambda p: p.stem)
def test_configs_save_through_the_atomic_hook_by_its_own_name(path):
    assert Config.fromfile(path).default_hooks.checkpoint.type == "AtomicCheckpointHook"
    assert HOOKS.get("AtomicCheckpointHook") is AtomicCheckpointHook
    assert HOOKS.get("CheckpointHook") is CheckpointHook  # mmengine's name stays mmengine's


def test_relative_position_tables_alone_skip_weight_decay():
    """mmengine reads paramwise_cfg at the optim_wrapper level: check the built groups."""
    from mmengine.optim import build_optim_wrapper

    cfg = adapt_to_device(Config.fromfile(POSE / "configs/hrformer/coco/hrt_tiny_coco_256x192.py"))
    model = init_model(cfg, None, device="cpu")
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    names = {id(p): n for n, p in model.named_parameters()}
    decay = {names[id(p)]: g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
    assert all((wd == 0.0) == n.endswith("relative_position_bias_table") for n, wd in decay.items())
    assert decay["backbone.bn1.weight"] == 0.01 and decay["head.final_layer.bias"] == 0.01


def test_cpu_adaptation_replaces_amp_and_nccl(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = adapt_to_device(Config.fromfile(COCO_CONFIGS[0]))
    assert cfg.optim_wrapper.type == "OptimWrapper" and "loss_scale" not in cfg.optim_wrapper
    assert cfg.env_cfg.dist_cfg.backend == "gloo"
    assert cfg.model_wrapper_cfg.type == "CPUDistributedDataParallel"
    assert cfg.model_wrapper_cfg.find_unused_parameters


def test_original_random_box_transform_clips_like_the_original():
    init_default_scope("mmpose")
    transform = TRANSFORMS.build(dict(type="OriginalRandomBBoxTransform", scale_factor=0.5,
                                      rotate_factor=40, rotate_prob=0.6))
    offset, scale, rotate = transform._get_transform_params(20000)
    assert scale.min() == 0.5 and scale.max() == 1.5
    assert 0.28 < (scale == 0.5).mean() + (scale == 1.5).mean() < 0.36  # P(|N(0,1)| > 1)
    assert abs(rotate).max() == 80 and 0.37 < (rotate == 0).mean() < 0.43
    assert abs(offset).max() <= 0.16 and 0.67 < (offset[:, 0] == 0).mean() < 0.73
    with pytest.raises(ValueError, match="scale_factor=1.5"):
        TRANSFORMS.build(dict(type="OriginalRandomBBoxTransform", scale_factor=1.5))


def test_converted_official_checkpoint_reproduces_fixture_heatmaps(tmp_path):
    """Recipe weights in the original layout -> convert script -> init_model -> fixture."""
    official = tmp_path / "official.pth"
    torch.save({"meta": {}, "state_dict": recipe_state_dict(
        manifest("pose_hrt_small")["keys"])}, official)
    ours, back = tmp_path / "ours.pth", tmp_path / "back.pth"
    convert_script = runpy.run_path(str(POSE / "tools" / "convert_official_checkpoint.py"))
    convert_script["main"]([str(official), str(ours)])
    convert_script["main"]([str(ours), str(back), "--reverse"])
    before = torch.load(official, weights_only=True)["state_dict"]
    after = torch.load(back, weights_only=True)["state_dict"]
    assert list(after) == list(before) and all(torch.equal(after[k], before[k]) for k in before)

    model = init_model(str(SMALL), str(ours), device="cpu")
    case = fixture("pose_hrt_small_256x192")["cases"][0]
    with torch.no_grad():
        heatmaps = model.head.forward(model.extract_feat(seeded_input(case["input_shape"])))
    assert_matches_reference(heatmaps, case["outputs"]["heatmaps"], "converted checkpoint")
    # The original file loads directly through the same call, to the same weights.
    direct = init_model(str(SMALL), str(official), device="cpu").state_dict()
    assert all(torch.equal(direct[k], v) for k, v in model.state_dict().items())


def _types(pipeline) -> list[str]:
    return [step["type"] for step in pipeline]


@pytest.mark.parametrize("variant", ["small", "base"])
def test_384x288_pipelines_are_the_bases_with_their_codec(variant):
    cfg = Config.fromfile(POSE / f"configs/hrformer/coco/hrt_{variant}_coco_384x288.py")
    base = Config.fromfile(POSE / f"configs/hrformer/coco/hrt_{variant}_coco_256x192.py")
    for name in ("train_pipeline", "val_pipeline"):
        assert _types(cfg[name]) == _types(base[name])
        for step, base_step in zip(cfg[name], base[name]):
            if step["type"] == "TopdownAffine":
                assert step["input_size"] == (288, 384)
            elif step["type"] == "GenerateTarget":
                assert step["encoder"] == cfg.codec and step["encoder"]["sigma"] == 3
            else:
                assert step == base_step
    assert cfg.train_dataloader.dataset.pipeline == cfg.train_pipeline
    assert cfg.val_dataloader.dataset.pipeline == cfg.val_pipeline


def test_384x288_configs_keep_a_step_added_to_the_base(tmp_path):
    """The 384x288 configs pick the codec steps by type: a new base step is kept, in place."""
    shutil.copytree(POSE / "configs", tmp_path / "configs")
    base = tmp_path / "configs/_base_/hrt_coco_topdown.py"
    base.write_text(base.read_text() + "\ntrain_pipeline.insert(-1, dict(type='NewStep'))\n"
                    "val_pipeline.insert(0, dict(type='NewStep'))\n")
    cfg = Config.fromfile(tmp_path / "configs/hrformer/coco/hrt_small_coco_384x288.py")
    assert _types(cfg.train_pipeline)[-4:] == ["TopdownAffine", "GenerateTarget", "NewStep",
                                               "PackPoseInputs"]
    assert _types(cfg.val_pipeline) == ["NewStep", "LoadImage", "GetBBoxCenterScale",
                                        "TopdownAffine", "PackPoseInputs"]
    affine = [s for s in cfg.train_pipeline + cfg.val_pipeline if s["type"] == "TopdownAffine"]
    assert [s["input_size"] for s in affine] == [(288, 384), (288, 384)]
