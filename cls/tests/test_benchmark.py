"""The benchmark's rows, ratio column and per-backend measurement (tiny sizes, not timed)."""
from __future__ import annotations

import pytest

from tools import benchmark

pytestmark = pytest.mark.usefixtures("one_thread")


def _row(backend: str, precision: str, latency: float, model: str = "cls:hrt_small") -> dict:
    return {"model": model, "mode": "forward", "attention": "sdpa", "backend": backend,
            "precision": precision, "channels_last": True, "with_cp": False, "batch": 8,
            "height": 224, "width": 224, "img_s": 8000 / latency, "latency_ms": latency,
            "peak_mb": 1.0, "kernel": "k"}


def test_ratio_is_eager_fp32_latency_over_the_rows():
    rows = [_row("eager", "fp32", 400.0), _row("openvino", "fp32", 200.0),
            _row("eager", "bf16", 100.0), _row("eager", "fp32", 50.0, model="hrnet_w32")]
    ratios = [r["ratio"] for r in benchmark.add_ratios(rows)]
    assert ratios == [1.0, 2.0, 4.0, 1.0]
    table = benchmark.format_table(rows).splitlines()
    assert "x eager fp32" in table[0] and "| 2.00 " in table[3] and "| 4.00 " in table[4]


def test_cases_skip_what_a_runtime_cannot_do():
    args = benchmark.parse_args(["--models", "pose:hrt_small", "hrnet_w32", "--backends",
                                 "eager", "onnxruntime", "--precisions", "fp32", "bf16",
                                 "--device", "cpu"])
    got = {(c.model, c.mode, c.backend, c.precision, c.height, c.width)
           for c in benchmark.cases(args, native_bf16=True)}
    assert ("pose:hrt_small", "forward", "onnxruntime", "fp32", 256, 192) in got
    assert ("hrnet_w32", "train", "eager", "bf16", 224, 224) in got
    assert not any(b == "onnxruntime" and (m == "train" or p == "bf16")
                   for _, m, b, p, _, _ in got)
    assert len(got) == 2 * (2 * 2 + 1)  # models x (modes x precisions on eager + ORT fp32)


def test_torch_bf16_rows_are_skipped_and_said_without_native_bf16(capsys):
    args = benchmark.parse_args(["--models", "cls:hrt_small", "--modes", "forward",
                                 "--backends", "eager", "openvino", "--precisions", "fp32",
                                 "bf16", "--device", "cpu"])
    got = {(c.backend, c.precision) for c in benchmark.cases(args, native_bf16=False)}
    assert got == {("eager", "fp32"), ("openvino", "fp32"), ("openvino", "bf16")}
    assert "skipped cls:hrt_small forward eager bf16: this CPU has no native bf16" in \
        capsys.readouterr().err


@pytest.mark.parametrize("backend", ["eager", "onnxruntime"])
def test_measure_runs_a_task_model_on_a_backend(backend):
    case = benchmark.Case("cls:hrt_tiny", "forward", "sdpa", backend, "fp32", True, False,
                          1, 32, 48, "cpu", 1, 0)
    row = benchmark.measure(case)
    assert row["latency_ms"] > 0 and row["img_s"] > 0
    assert row["kernel"] == ("flash (cpu)" if backend == "eager" else
                             "onnxruntime 1.31.1 CPUExecutionProvider, fp32, 1 threads")


def test_task_models_give_the_task_outputs():
    import torch
    from tools.bench_models import build_model
    x = torch.randn(1, 3, 32, 48)
    with torch.no_grad():
        heatmaps = build_model("pose:hrt_small", {}).eval()(x)
        out_aux, out = build_model("seg:hrt_small", {}).eval()(x)
    assert heatmaps.shape == (1, 17, 8, 12)
    assert out.shape == out_aux.shape == (1, 19, 32, 48)
    with pytest.raises(ValueError, match="unknown task 'det'"):
        build_model("det:hrt_small", {})


def test_gpu_check_steps_and_kernel_report_on_cpu():
    import torch
    from tools import gpu_check
    cpu = torch.device("cpu")
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten())
    x = torch.randn(2, 3, 8, 8)
    loss, skipped = gpu_check.train_step(model, x, lambda out: gpu_check.task_loss("cls", out),
                                         torch.float16, cpu)
    assert loss > 0 and skipped >= 0
    with pytest.raises(RuntimeError, match="loss is nan"):
        gpu_check.train_step(model, x, lambda out: out.sum() * float("nan"), None, cpu)
    assert gpu_check.sdpa_kernel(32, cpu, torch.float32) == \
        "head dim 32 (run as 32): flash (cpu)"
