"""An openseg-layout checkpoint (as released: `module.` keys, `config_dict`, no optimizer)
loads strictly through main.py's path, reproduces the original's outputs and evaluates."""
import torch

from helpers_train import DEMO_CONFIG, eval_args, make_dataset
from hrformer_common.testing import assert_matches_reference, fixture, load_recipe_weights, seeded_input
from hrformer_common.checkpoint import load_checkpoint
from lib.segmentor.checkpoints import restore_weights
from lib.segmentor.configured_segmentor import configured_segmentor
from lib.utils.command_line import load_config
from main import main

MICRO = "seg_micro_ocr_v2"


def micro_model(layout) -> list[str]:
    """main.py arguments for the micro fixture's model: its layout, the released head, 19
    classes (on top of the demo config, without its 5 class names)."""
    return ["--backbone", str(layout), "--model_name", "hrt_small_ocr_v2",
            "data.num_classes", "19", "data.class_names", "null"]


def write_released_checkpoint(path, layout):
    configer, _ = load_config(["--configs", DEMO_CONFIG, *micro_model(layout)])
    model = configured_segmentor(configer, torch.device("cpu"))
    load_recipe_weights(model, MICRO)
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    torch.save({"config_dict": {"iters": 80000}, "state_dict": state}, path)


def test_released_layout_reproduces_fixture_and_evaluates(tmp_path, micro_layout):
    path = tmp_path / "released_max_performance.pth"
    write_released_checkpoint(path, micro_layout)
    configer, _ = load_config(["--configs", DEMO_CONFIG, "--resume", str(path),
                               *micro_model(micro_layout)])
    model = configured_segmentor(configer, torch.device("cpu"))
    restore_weights(model, load_checkpoint(path), str(path), strict=True)
    model.eval()
    case = fixture(MICRO)["cases"][0]
    with torch.no_grad():
        out_aux, out = model(seeded_input(case["input_shape"]))
    assert_matches_reference(out_aux, case["outputs"]["out_aux"], "out_aux")
    assert_matches_reference(out, case["outputs"]["out"], "out")

    data = make_dataset(tmp_path, num_train=1, num_val=1)
    result = main(eval_args(data, path, tmp_path / "out") + micro_model(micro_layout))
    assert 0.0 <= result["mIoU"] <= 1.0 and len(result["per_class_iou"]) == 19
