"""The GPU check's pieces on the CPU (hrformer_common.gpu_check through cls's tool): training
steps under autocast, the SDPA kernel report, failures kept and named, the CPU stand-ins."""
from __future__ import annotations

import pytest
import torch

from hrformer_common import gpu_check, tables
from models import hrformer
from tools.benchmark import BENCH
from tools.gpu_check import CHECK, classification_loss

pytestmark = pytest.mark.usefixtures("one_thread")
CPU = torch.device("cpu")


def test_train_step_with_a_grad_scaler_and_a_nan_loss():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten())
    x = torch.randn(2, 3, 8, 8)
    before = [p.detach().clone() for p in model.parameters()]
    loss, skipped = gpu_check.train_step(model, x, classification_loss, torch.float16, CPU)
    assert loss > 0 and skipped >= 0
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters()))
    with pytest.raises(RuntimeError, match="loss is nan"):
        gpu_check.train_step(model, x, lambda out: out.sum() * float("nan"), None, CPU)


def test_sdpa_kernel_report_on_cpu():
    assert gpu_check.sdpa_kernel(hrformer, 32, CPU, torch.float32) == \
        "head dim 32 (run as 32): flash (cpu)"


def test_checks_go_on_after_a_failure_and_the_table_names_it(tmp_path, capsys):
    checks = gpu_check.Checks("cls")
    checks("fine", lambda: "ok")
    checks("broken", lambda: 1 / 0)
    checks("after", lambda: "still ran")
    assert [(r["check"], r["ok"]) for r in checks.rows] == \
        [("fine", True), ("broken", False), ("after", True)]
    assert checks.rows[1]["result"] == "FAILED: ZeroDivisionError: division by zero"
    table = gpu_check.format_table(checks.rows).splitlines()
    assert table[-1] == "gpu-check: FAILED: cls broken"
    path = tmp_path / "cls.json"
    tables.write_rows(path, "checks", checks.rows, ["no CUDA"])
    assert tables.main([str(path)]) == 1
    assert capsys.readouterr().out.splitlines()[:3] == ["no CUDA", "| task | check | result |",
                                                        "|---|---|---|"]


def test_cpu_stand_in_trains_in_bf16():
    result = CHECK.amp_step(torch.bfloat16, CPU)
    assert result.startswith("hrt_tiny 64x64, loss ")
    assert 0 < float(result.split("loss ")[1]) < 20  # cross-entropy over 1000 classes ~ 6.9


def test_cpu_benchmark_of_the_check_is_the_stand_in_at_its_size():
    cases = BENCH.cases(BENCH.parse_args(CHECK.bench_args(CPU)), native_bf16=False)
    assert {(c.model, c.mode, c.backend, c.height, c.width, c.iters) for c in cases} == \
        {("hrt_tiny", "forward", "eager", 64, 64, 1), ("hrt_tiny", "forward", "onnxruntime",
                                                        64, 64, 1)}
