"""pose's benchmark, FLOPs and GPU-check tools on the mmpose-built top-down models: a measured
row per backend, the reference CNN, parameters and GMac against the reference counts, the
GPU check's CPU stand-in, every row of the pipeline benchmark (tiny sizes, one thread; nothing
here is timed)."""
from __future__ import annotations

import pytest
import torch
from conftest import DEMO_CONFIG
from hrformer_common.testing import manifest
from hrformer_common.timing import Case, measure
from tools.benchmark import CONFIGS, MODELS, REFERENCE_CNN
from tools.flops import FLOPS
from tools.gpu_check import CHECK, heatmap_loss

# fvcore's GMac of the original pose models (non-square inputs whose small branches need
# window padding: 8x6 -> 14x7 at 256x192).
POSE_GMAC = {"hrt_small_coco_256x192": 3.338, "hrt_small_coco_384x288": 7.350,
             "hrt_base_coco_256x192": 14.123, "hrt_base_coco_384x288": 30.938}


def test_models_are_the_coco_configs_at_their_input_sizes():
    assert set(MODELS) == {p.stem for p in CONFIGS.glob("*.py")} | {REFERENCE_CNN}
    sizes = {name: spec.input_size for name, spec in MODELS.items()}
    assert sizes["hrt_base_coco_384x288"] == (384, 288)
    assert sizes["hrt_small_coco_256x192"] == sizes[REFERENCE_CNN] == (256, 192)
    assert not MODELS[REFERENCE_CNN].transformer and MODELS["hrt_small_coco_256x192"].transformer


@pytest.mark.parametrize("backend, ran", [
    ("eager", "flash (cpu)"),
    # OpenVINO rows run through the same shared code (cls/tests/test_benchmark.py runs one).
    ("onnxruntime", "onnxruntime 1.31.1 CPUExecutionProvider, fp32, 1 threads")])
def test_measure_runs_the_mmpose_model_on_each_backend(backend, ran):
    case = Case("pose", "hrt_tiny_coco_256x192", "forward", "sdpa", backend, "fp32", True,
                False, 1, 64, 48, "cpu", 1, 0, 1)
    row = measure(case, MODELS[case.model])
    assert row["latency_ms"] > 0 and row["kernel"] == ran
    assert (row["task"], row["height"], row["width"]) == ("pose", 64, 48)


def test_task_models_are_mmpose_estimators_giving_heatmaps():
    hrformer = MODELS["hrt_small_coco_256x192"].build({"attention": "math"}).eval()
    hrnet = MODELS[REFERENCE_CNN].build({}).eval()
    assert type(hrformer.estimator.backbone).__name__ == "HRT"
    assert type(hrnet.estimator.backbone).__module__ == "mmpose.models.backbones.hrnet"
    assert sum(p.numel() for p in hrnet.parameters()) == 28_536_113  # mmpose's HRNet-W32
    with torch.no_grad():
        assert hrformer(torch.randn(1, 3, 64, 48)).shape == (1, 17, 16, 12)
        assert hrnet(torch.randn(1, 3, 128, 96)).shape == (1, 17, 32, 24)


@pytest.mark.parametrize("name", sorted(POSE_GMAC))
def test_params_and_gmac_of_the_configs(name: str) -> None:
    (row,) = FLOPS.rows([name])
    variant = name.partition("_coco")[0]
    assert row["params"] == manifest(f"pose_{variant}")["num_params"]
    assert round(row["fvcore"] / 1e9, 3) == POSE_GMAC[name]
    assert row["complete"] > row["original"] > row["fvcore"]
    assert row["uncounted"] == []


def test_gpu_check_cpu_stand_in_trains_in_bf16():
    result = CHECK.amp_step(torch.bfloat16, torch.device("cpu"))
    assert result.startswith("hrt_tiny_coco_256x192 64x48, loss ")
    zeros = torch.zeros(2, 17, 16, 12)
    # E[u^2] = 1/3 for the uniform random target
    assert heatmap_loss(zeros).item() == pytest.approx(1 / 3, abs=0.01)


def test_pipeline_benchmark_rows(capsys):
    """`tools/benchmark.py pipeline` on the demo model: every candidate measured, both tables
    printed under the CPU line (tiny settings; nothing here is timed)."""
    from tools.pipeline_bench import BASELINE, frame_and_boxes, run
    seconds = run(["--config", str(DEMO_CONFIG), "--det",
                   "torchvision:ssdlite320_mobilenet_v3_large", "--people", "1", "7",
                   "--backends", "torch", "onnxruntime:fp32", "--batches", "1", "3",
                   "--rounds", "1", "--iters", "1", "--threads", "1"])
    network = {k[1:] for k in seconds if k[0] == "network"}
    pipeline = {k[1:] for k in seconds if k[0] == "pipeline"}
    assert network == {(BASELINE, "fp32", 1), ("torch", "fp32", 1), ("torch", "fp32", 3),
                       ("onnxruntime", "fp32", 1), ("onnxruntime", "fp32", 3)}
    assert pipeline == {(b, "fp32", flip, n) for b in ("torch", "onnxruntime")
                        for flip in (False, True) for n in (1, 7)}
    assert all(0 < s < float("inf") for s in seconds.values())
    printed = capsys.readouterr().out
    assert printed.startswith("CPU: ") and "crops/s" in printed and "frames/s" in printed
    frame, boxes = frame_and_boxes(7)
    assert frame.shape == (480, 640, 3) and boxes.shape == (7, 4)
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 0] + boxes[:, 2] <= 640).all() \
        and (boxes[:, 1] + boxes[:, 3] <= 480).all()
