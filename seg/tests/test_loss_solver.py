"""OHEM cross-entropy, loss selection, parameter groups and the LR schedule."""
import math

import pytest
import torch
from torch import nn

from conftest import micro_config
from lib.loss import OhemCrossEntropy, build_loss
from lib.models import build_segmentor
from lib.solver import build_optimizer, decay_groups, lr_factor
from lib.utils.configer import Configer


def logits_for(probs):
    """1 x 2 x 1 x N logits whose softmax gives class 0 the probabilities `probs`."""
    p = torch.tensor(probs)
    return torch.stack([p.log(), (1 - p).log()]).view(1, 2, 1, -1)


def test_ohem_keeps_only_the_hardest_pixels():
    # ground-truth probabilities 0.95, 0.6, 0.2, 0.8, 0.5 (+ one ignored pixel)
    logits = logits_for([0.95, 0.6, 0.2, 0.8, 0.5, 0.1])
    target = torch.tensor([[[0, 0, 0, 0, 0, -1]]])
    # min_kept 2: sorted kept probs [0.2, 0.5, 0.6, 0.8, 0.95] -> p[2] = 0.6; threshold
    # max(0.6, 0.7) = 0.7 keeps 0.6, 0.2 and 0.5
    loss = OhemCrossEntropy(thresh=0.7, min_kept=2)(logits, target)
    assert loss.item() == pytest.approx(-(math.log(0.6) + math.log(0.2) + math.log(0.5)) / 3)
    # min_kept 3 raises the threshold to p[3] = 0.8: 0.8 itself is still not kept (strict <)
    loss = OhemCrossEntropy(thresh=0.7, min_kept=3)(logits, target)
    assert loss.item() == pytest.approx(-(math.log(0.6) + math.log(0.2) + math.log(0.5)) / 3)
    loss = OhemCrossEntropy(thresh=0.9, min_kept=1)(logits, target)
    assert loss.item() == pytest.approx(
        -(math.log(0.6) + math.log(0.2) + math.log(0.8) + math.log(0.5)) / 4)


def test_ohem_class_weights_weight_each_pixel_but_average_plainly():
    logits = logits_for([0.6, 0.2])
    weight = torch.tensor([2.0, 1.0])
    loss = OhemCrossEntropy(thresh=0.9, min_kept=1, weight=weight)(
        logits, torch.tensor([[[0, 0]]]))
    assert loss.item() == pytest.approx(-2 * (math.log(0.6) + math.log(0.2)) / 2)


def loss_config(loss_type, ce_weight=None):
    return Configer({"data": {"num_classes": 3},
                     "loss": {"loss_type": loss_type,
                              "params": {"ce_weight": ce_weight, "ohem_thresh": 0.7,
                                         "ohem_minkeep": 100000, "ce_ignore_index": -1}},
                     "network": {"loss_weights": {"aux_loss": 0.4, "seg_loss": 1.0}}})


@pytest.mark.parametrize("loss_type", ["fs_auxce_loss", "fs_auxohemce_loss"])
def test_one_training_iteration_per_loss(loss_type):
    torch.manual_seed(0)
    model = build_segmentor("hrt_small_ocr_v2", micro_config(), 3, in_channels=240)
    criterion = build_loss(loss_config(loss_type, [1.0, 2.0, 0.5]))
    config = Configer({"optim": {"optim_method": "adamw", "group_method": "decay",
                                 "adamw": {"betas": [0.9, 0.999], "eps": 1e-8,
                                           "weight_decay": 0.01}},
                       "lr": {"base_lr": 1e-3}})
    optimizer = build_optimizer(model, config)
    images, target = torch.randn(2, 3, 32, 32), torch.randint(-1, 3, (2, 32, 32))
    before = model.cls_head.weight.detach().clone()
    loss = criterion(model(images), target)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss) and loss.item() > 0
    assert not torch.equal(before, model.cls_head.weight)


def test_aux_loss_weights_main_and_aux_terms():
    out_aux, out = torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4)
    target = torch.randint(0, 3, (1, 4, 4))
    ce = nn.functional.cross_entropy
    expected = ce(out, target) + 0.4 * ce(out_aux, target)
    assert build_loss(loss_config("fs_auxce_loss"))([out_aux, out], target).item() == \
        pytest.approx(expected.item())
    with pytest.raises(ValueError, match="ce_weight has 2 values; expected data.num_classes=3"):
        build_loss(loss_config("fs_auxce_loss", [1.0, 1.0]))


def test_decay_groups_exempt_norms_biases_and_position_tables():
    model = build_segmentor("hrt_small_ocr_v2", micro_config(), 3, in_channels=240)
    decay, no_decay = decay_groups(model, 0.01)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for p in decay["params"]}
    exempt = {names[id(p)] for p in no_decay["params"]}
    assert decayed | exempt == set(names.values()) and not decayed & exempt
    assert all(n.endswith("weight") for n in decayed)
    assert any(n.endswith("relative_position_bias_table") for n in exempt)
    assert "conv3x3.1.0.weight" in exempt and "conv3x3.0.bias" in exempt
    assert no_decay["weight_decay"] == 0.0 and decay["weight_decay"] == 0.01


def test_warm_lambda_poly_schedule():
    config = Configer({"lr": {"lr_policy": "warm_lambda_poly",
                              "warm": {"warm_iters": 1500, "warm_ratio": 1e-6}},
                       "solver": {"max_iters": 80000}})
    factor = lr_factor(config)
    assert factor(0) == pytest.approx(1e-6)
    assert factor(750) == pytest.approx(1 - 0.5 * (1 - 1e-6))
    assert factor(1500) == pytest.approx(1.0)
    assert factor(40750) == pytest.approx(0.5 ** 0.9)
    assert factor(80000) == 0.0
