"""The shared benchmark (hrformer_common.benchmark / timing / tables) through cls's tool:
row selection, the ratio column, the CPU line, a measured row per backend, the merged table
(tiny sizes, one thread; nothing here is timed)."""
from __future__ import annotations

import json

import pytest
from torch import nn

from hrformer_common import tables
from hrformer_common.benchmark import add_ratios, cpu_line, format_table
from hrformer_common.timing import Case, TaskModel, measure
from tools.benchmark import BENCH, MODELS

pytestmark = pytest.mark.usefixtures("one_thread")


def _row(backend: str, precision: str, latency: float, model: str = "hrt_small",
         task: str = "cls") -> dict:
    return {"task": task, "model": model, "mode": "forward", "attention": "sdpa",
            "backend": backend, "precision": precision, "channels_last": True,
            "with_cp": False, "batch": 8, "height": 224, "width": 224, "threads": 1,
            "img_s": 8000 / latency, "latency_ms": latency, "peak_mb": 1.0, "kernel": "k"}


def _case(model: str, backend: str, mode: str = "forward", size: tuple = (32, 48)) -> Case:
    return Case("cls", model, mode, "sdpa", backend, "fp32", True, False, 1, *size, "cpu", 1,
                0, 1)


def test_ratio_is_eager_fp32_latency_over_the_rows_of_the_same_task_and_model():
    rows = [_row("eager", "fp32", 400.0), _row("openvino", "fp32", 200.0),
            _row("eager", "bf16", 100.0), _row("eager", "fp32", 50.0, model="hrnet_w32"),
            _row("openvino", "fp32", 100.0, task="pose")]
    assert [r["ratio"] for r in add_ratios(rows)] == [1.0, 2.0, 4.0, 1.0, None]
    table = format_table(rows).splitlines()
    assert "x eager fp32" in table[0] and len(table) == 2 + len(rows)
    assert [line.split(" | ")[11].strip() for line in table[2:]] == \
        ["1.00", "2.00", "4.00", "1.00", "-"]


def test_cases_skip_what_a_runtime_cannot_do():
    args = BENCH.parse_args(["--models", "hrt_small", "hrnet_w32", "--backends", "eager",
                             "onnxruntime", "--precisions", "fp32", "bf16", "--attention",
                             "sdpa", "math", "--device", "cpu"])
    got = {(c.model, c.mode, c.attention, c.backend, c.precision, c.height, c.width)
           for c in BENCH.cases(args, native_bf16=True)}
    assert ("hrt_small", "forward", "math", "onnxruntime", "fp32", 224, 224) in got
    assert ("hrnet_w32", "train", "sdpa", "eager", "bf16", 224, 224) in got
    assert not any(b == "onnxruntime" and (m == "train" or p == "bf16")
                   for _, m, _, b, p, _, _ in got)
    assert not any(m == "hrnet_w32" and a == "math" for m, _, a, *_ in got)
    # models x attentions x (modes x precisions on eager + ORT fp32); the CNN has no attention
    assert len(got) == (2 + 1) * (2 * 2 + 1)


def test_torch_bf16_rows_are_skipped_and_said_without_native_bf16(capsys):
    args = BENCH.parse_args(["--models", "hrt_small", "--modes", "forward", "--backends",
                             "eager", "openvino", "--precisions", "fp32", "bf16", "--device",
                             "cpu", "--input-size", "64", "32"])
    cases = BENCH.cases(args, native_bf16=False)
    assert {(c.backend, c.precision) for c in cases} == \
        {("eager", "fp32"), ("openvino", "fp32"), ("openvino", "bf16")}
    assert {(c.height, c.width) for c in cases} == {(64, 32)}
    assert "skipped cls hrt_small forward eager bf16: this CPU has no native bf16" in \
        capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--models", "hrt_huge"], ["--input-size", "1", "2", "3"],
                                  ["--batch-size", "0"], ["--rounds", "0"]])
def test_bad_arguments_exit_with_a_usage_error(argv):
    with pytest.raises(SystemExit) as error:
        BENCH.parse_args(argv)
    assert error.value.code == 2


def test_json_destination_is_checked_before_any_work(tmp_path, capsys):
    existing = tmp_path / "rows.json"
    existing.write_text("{}")
    for path, message in ((existing, "exists; remove it or name another file"),
                          (tmp_path / "no" / "rows.json", "does not exist")):
        with pytest.raises(SystemExit) as error:
            BENCH.parse_args(["--json", str(path)])
        assert error.value.code == 2 and message in capsys.readouterr().err
    assert existing.read_text() == "{}"


def test_cpu_line_reads_the_flags_of_cpuinfo_or_lscpu():
    cpuinfo = ("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu avx2 avx512f\n"
               "processor\t: 1\nmodel name\t: Some CPU\nflags\t\t: fpu avx2 avx512f\n")
    assert cpu_line(cpuinfo) == \
        "CPU: Some CPU (AVX2 yes, AVX-512 yes, avx512_bf16 no, AMX no)"
    lscpu = "Model name:   Other CPU\nFlags:   avx2 avx512_bf16 amx_bf16 amx_tile\n"
    assert cpu_line(lscpu) == "CPU: Other CPU (AVX2 yes, AVX-512 no, avx512_bf16 yes, AMX yes)"
    assert cpu_line("model name : X\n") == "CPU: X (flags unknown)"


@pytest.mark.parametrize("backend, ran", [
    ("eager", "flash (cpu)"),
    ("onnxruntime", "onnxruntime 1.31.1 CPUExecutionProvider, fp32, 1 threads"),
    ("openvino", "openvino 2026.4.1 CPU, inference precision f32, 1 threads")])
def test_measure_runs_a_classifier_on_each_backend(backend, ran):
    row = measure(_case("hrt_tiny", backend), MODELS["hrt_tiny"])
    assert row["latency_ms"] > 0 and row["img_s"] == pytest.approx(1000 / row["latency_ms"])
    assert row["kernel"] == ran and row["attention"] == "sdpa"
    assert (row["task"], row["model"], row["height"], row["width"]) == \
        ("cls", "hrt_tiny", 32, 48)


def _conv(options) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())


def test_compile_backend_and_a_model_without_attention():
    row = measure(_case("conv", "compile", size=(8, 8)), TaskModel(_conv, (8, 8), False))
    assert row["latency_ms"] > 0 and row["kernel"] == "-" and row["attention"] == "-"


def _no_attention(model: nn.Module) -> nn.Module:
    return _conv({})


def test_prepare_is_applied_to_inference_rows_only():
    # The attention kernel tells which model ran: the prepared one has no attention.
    forward = measure(_case("hrt_tiny", "eager"), MODELS["hrt_tiny"], _no_attention)
    train = measure(_case("hrt_tiny", "eager", mode="train"), MODELS["hrt_tiny"], _no_attention)
    assert forward["kernel"] == "unknown"
    assert train["kernel"] in ("flash (cpu)", "explicit matmul+softmax")


def test_run_writes_rows_and_tables_print_one_table(tmp_path, capsys):
    path = tmp_path / "cls.json"
    BENCH.run(["--models", "hrt_tiny", "--modes", "forward", "--batch-size", "1",
               "--input-size", "32", "48", "--iters", "1", "--warmup", "0", "--threads", "1",
               "--json", str(path)])
    printed = capsys.readouterr().out.splitlines()
    document = json.loads(path.read_text())
    assert document["kind"] == "speed" and len(document["rows"]) == 1
    assert document["environment"] == printed[:2] and printed[0].startswith("CPU: ")
    assert "1 threads, device cpu" in printed[1]
    other = tmp_path / "pose.json"
    tables.write_rows(other, "speed", [_row("eager", "fp32", 10.0, "hrt_small_coco", "pose")],
                      document["environment"])
    text, passed = tables.merge([path, other])
    lines = text.splitlines()
    assert passed and lines[:2] == printed[:2]  # the shared environment once
    assert [[cell.strip() for cell in line.split("|")[:2]] for line in lines[4:]] == \
        [["cls", "hrt_tiny"], ["pose", "hrt_small_coco"]]


def test_tables_name_a_file_that_holds_no_rows(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"kind": "speed"}))
    assert tables.main([str(bad)]) == 2
    assert f"{bad}: expected an object with 'kind'" in capsys.readouterr().err
    assert tables.main([str(tmp_path / "missing.json")]) == 2
    with pytest.raises(ValueError, match="kind 'bogus'"):
        tables.write_rows(tmp_path / "x.json", "bogus", [])

