"""seg's benchmark, FLOPs and GPU-check tools on the HRFormer + OCR segmentors: a measured row
per backend, the HRNet-W48 + OCR reference, parameters and FLOPs (cross-checked against
torch's own counter), the GPU check's CPU pieces (tiny sizes, one thread; nothing is timed)."""
from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from hrformer_common.testing import manifest
from hrformer_common.timing import Case, measure
from lib.models import SEGMENTORS
from tools.benchmark import MODELS, REFERENCE_CNN
from tools.flops import FLOPS
from tools.gpu_check import AUX_WEIGHT, CHECK, segmentation_loss


def test_models_are_the_segmentors_and_the_reference_at_512x1024():
    assert set(MODELS) == set(SEGMENTORS) | {REFERENCE_CNN}
    assert {spec.input_size for spec in MODELS.values()} == {(512, 1024)}
    assert [name for name, spec in MODELS.items() if not spec.transformer] == [REFERENCE_CNN]


@pytest.mark.parametrize("backend, ran", [
    ("eager", "flash (cpu)"),
    ("onnxruntime", "onnxruntime 1.31.1 CPUExecutionProvider, fp32, 1 threads"),
    ("openvino", "openvino 2026.4.1 CPU, inference precision f32, 1 threads")])
def test_measure_runs_the_segmentor_on_each_backend(backend, ran):
    case = Case("seg", "hrt_small_ocr_v2", "forward", "sdpa", backend, "fp32", True, False, 1,
                32, 64, "cpu", 1, 0, 1)
    row = measure(case, MODELS[case.model])
    assert row["latency_ms"] > 0 and row["kernel"] == ran
    assert (row["task"], row["height"], row["width"]) == ("seg", 32, 64)


def test_task_models_give_both_logits_at_input_size():
    x = torch.randn(1, 3, 64, 64)
    for name in ("hrt_small_ocr_v2", REFERENCE_CNN):
        model = MODELS[name].build({}).eval()
        with torch.no_grad():
            out_aux, out = model(x)
        assert out.shape == out_aux.shape == (1, 19, 64, 64), name
    assert model.backbone.out_channels == (48, 96, 192, 384)  # HRNet-W48's branches


@pytest.mark.parametrize("name", ["hrt_small_ocr_v2", REFERENCE_CNN])
def test_flops_count_every_op_and_agree_with_torchs_counter(name):
    size = (64, 128)
    (row,) = FLOPS.rows([name], size)
    if name in SEGMENTORS:
        assert row["params"] == manifest(f"seg_{name}")["num_params"]
    assert row["uncounted"] == [] and row["complete"] > row["fvcore"]
    # torch's counter prices conv / matmul only (2 FLOPs per multiply-add); ours adds the
    # normalisation and resize costs of fvcore's convention: at most 1% here.
    model = MODELS[name].build({"attention": "math"}).eval().to("meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, *size, device="meta"))
    macs = counter.get_total_flops() // 2
    assert macs < row["fvcore"] < 1.01 * macs


def test_gpu_check_loss_and_cpu_stand_in():
    out = torch.zeros(2, 19, 4, 4)
    # uniform logits: cross-entropy log(19) for each output
    expected = (1 + AUX_WEIGHT) * torch.log(torch.tensor(19.0))
    assert segmentation_loss((out, out)).item() == pytest.approx(expected.item())
    result = CHECK.amp_step(torch.bfloat16, torch.device("cpu"))
    assert result.startswith("hrt_small_ocr_v2 64x64, loss ")
