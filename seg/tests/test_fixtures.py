"""Outputs of the original seg models (recipe weights, seeded input, eval mode)."""
import pytest
import torch

from conftest import build_for_manifest
from lib.models.backbones.hrformer import reparameterize_model
from hrformer_common.testing import assert_matches_reference, fixture, load_recipe_weights, seeded_input


@pytest.mark.parametrize("folded", [False, True])
@pytest.mark.parametrize("fixture_name", ["seg_micro_ocr_v2", "seg_hrt_small_ocr_v2_128x256"])
def test_outputs_match_original(fixture_name, folded):
    ref = fixture(fixture_name)
    model = build_for_manifest(ref["manifest"])
    load_recipe_weights(model, ref["manifest"])
    model.eval()
    if folded:  # the OCR head's BatchNorms (inside its (BN, ReLU) Sequentials) too
        reparameterize_model(model)
        assert not [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for case in ref["cases"]:
        with torch.no_grad():
            out_aux, out = model(seeded_input(case["input_shape"]))
        assert_matches_reference(out_aux, case["outputs"]["out_aux"], f"{fixture_name} out_aux")
        assert_matches_reference(out, case["outputs"]["out"], f"{fixture_name} out")
