"""Segmentation tables of the paper from the released checkpoints (OCRNet + HRFormer,
Cityscapes / PASCAL-Context / COCO-Stuff 10K / ADE20K, single scale and multi-scale + flip).

    python tools/reproduce_table.py --checkpoints DIR --data DATA_ROOT [--rows NAME ...]
        [--json FILE] [--out FILE.md] [--work-dir DIR]
    torchrun --nproc_per_node 8 tools/reproduce_table.py --checkpoints DIR --data DATA_ROOT

Each row present in DIR is tested on `DATA_ROOT/<dataset>/val` as its run script's `val ss`
and `val` modes do (`main.py --phase test`: H_48_D_4.json, then the script's multi-scale +
flip config), scored at the original resolution. Run from `seg/`.
"""
from __future__ import annotations

import sys
from pathlib import Path

SEG = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SEG))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

import torch  # noqa: E402

from hrformer_common.reproduce import Row, Tool  # noqa: E402
from lib.segmentor.tester import run_test  # noqa: E402
from lib.utils import distributed  # noqa: E402
from lib.utils.command_line import load_config  # noqa: E402
from lib.utils.logger import setup_logging  # noqa: E402

SS, MS = "mIoU", "mIoU (Multi-Scale)"
BACKBONES = {("S", "7x7"): "hrt_small", ("B", "7x7"): "hrt_base",
             ("B", "13x13"): "hrt_base_win13", ("B", "15x15"): "hrt_base_win15"}
# dataset title -> (configs/ and scripts/ folder, DATA_ROOT sub-folder)
DATASETS = {"Cityscapes": ("cityscapes", "cityscapes"),
            "PASCAL-Context": ("pascal_context", "pascal_context"),
            "COCO-Stuff": ("coco_stuff", "coco_stuff_10k"), "ADE20K": ("ade20k", "ade20k")}


def _row(dataset: str, size: str, window: str, ss: str, ms: str, script: str, ms_config: str,
         log: str, ckpt: str) -> Row:
    folder, subdir = DATASETS[dataset]
    return Row(f"{dataset} OCRNet HRFormer-{size} {window}",
               f"{folder}_{script.removeprefix('run_')}.pth", ckpt, log,
               {SS: float(ss), MS: float(ms)},
               {"folder": folder, "subdir": subdir, "backbone": BACKBONES[size, window],
                "model_name": f"{BACKBONES[size, '7x7']}_ocr_v2",
                "script": f"scripts/{folder}/hrt/{script}.sh", "ms_config": ms_config})


# The released rows (the original README's segmentation tables): single-scale and multi-scale
# + flip mIoU, run script, its VAL_CONFIG (the multi-scale test), log and checkpoint links.
RELEASED = """
dataset        size window mIoU ms_mIoU script                       ms_config               log                                                       ckpt
Cityscapes     S    7x7    80.0 81.0    run_hrt_small_ocr_v2_ohem    H_48_D_4_TEST_MS3x.json https://1drv.ms/u/s!Ai-PFrdirDvwj3K-rPMQ6sHNV-Fe?e=D3IbNn https://1drv.ms/u/s!Ai-PFrdirDvwj3Wsg-_ApKUAEUft?e=BnhLal
Cityscapes     B    7x7    81.4 82.0    run_hrt_base_ocr_v2_ohem     H_48_D_4_TEST_MS3x.json https://1drv.ms/u/s!Ai-PFrdirDvwj3NtH1LBB0w6yCO3?e=p4v29Z https://1drv.ms/u/s!Ai-PFrdirDvwj3zEMdYLM8nZ5gXN?e=v7ehnB
Cityscapes     B    15x15  81.9 82.6    run_hrt_base_ocr_v2_ohem_w15 H_48_D_4_TEST.json      https://1drv.ms/u/s!Ai-PFrdirDvwkAlyBb4tGcxSjF_A?e=diIDCV https://1drv.ms/u/s!Ai-PFrdirDvwkAp3LjwI-7Csmh0K?e=K1zXrn
PASCAL-Context S    7x7    53.8 54.6    run_hrt_small_ocr_v2_ohem    H_48_D_4_TEST_MS3x.json https://1drv.ms/u/s!Ai-PFrdirDvwj306lzvnI4s5U43l?e=J9mCfg https://1drv.ms/u/s!Ai-PFrdirDvwkADkevlhIuUrPC1T?e=hcDx5S
PASCAL-Context B    7x7    56.3 57.1    run_hrt_base_ocr_v2_ohem     H_48_D_4_TEST_MS3x.json https://1drv.ms/u/s!Ai-PFrdirDvwj3_0tiJZqL7HWPv1?e=6ilX0Z https://1drv.ms/u/s!Ai-PFrdirDvwkAMUzRnCGmAxEehJ?e=HrCQ9c
PASCAL-Context B    15x15  57.6 58.5    run_hrt_base_ocr_v2_ohem_w15 H_48_D_4_TEST_MS3x.json https://1drv.ms/u/s!Ai-PFrdirDvwj3kphBj2FusLylDg?e=qZSrpp https://1drv.ms/u/s!Ai-PFrdirDvwkAIBAkrOlPp_T1YT?e=DeHMdo
COCO-Stuff     S    7x7    37.9 38.9    run_hrt_small_ocr_v2_ohem    H_48_D_4_TEST_MS3x.json https://1drv.ms/u/s!Ai-PFrdirDvwj3ayL8oHrwsjRP1U?e=uOa0NC https://1drv.ms/u/s!Ai-PFrdirDvwj3tbt5BhdCrsu6lK?e=up2HUI
COCO-Stuff     B    7x7    41.6 42.5    run_hrt_base_ocr_v2_ohem     H_48_D_4_TEST_MS3x.json https://1drv.ms/u/s!Ai-PFrdirDvwj3iKM2xyDk-6jnJd?e=HL5s7d https://1drv.ms/u/s!Ai-PFrdirDvwkAFAYKZm2wL9C6KL?e=AZiXLK
COCO-Stuff     B    15x15  42.4 43.3    run_hrt_base_ocr_v2_ohem_w15 H_48_D_4_TEST_MS3x.json https://1drv.ms/u/s!Ai-PFrdirDvwj3RtsUasPSb4nhL_?e=WUBe74 https://1drv.ms/u/s!Ai-PFrdirDvwj37Np48Gpb-Pjowu?e=iwL5UA
ADE20K         S    7x7    44.0 45.1    run_hrt_small_ocr_v2_ohem    H_48_D_4_TEST_MS3x.json https://1drv.ms/u/s!Ai-PFrdirDvwj3EehoEZZUDMX0NU?e=F8HAQi https://1drv.ms/u/s!Ai-PFrdirDvwj28i74aN6_Zk4clX?e=CWGOcd
ADE20K         B    7x7    46.3 47.6    run_hrt_base_ocr_v2_ohem     H_48_D_4_TEST_MS3x.json https://1drv.ms/u/s!Ai-PFrdirDvwj265qyyZ74PKjfqm?e=Cj7TGl https://1drv.ms/u/s!Ai-PFrdirDvwj3epNJ-QFF33tZtr?e=df3fQk
ADE20K         B    13x13  48.7 50.0    run_hrt_base_ocr_v2_ohem_w13 H_48_D_4_TEST_MS3x.json https://1drv.ms/u/s!Ai-PFrdirDvwkAjmpl5jj0sXz2v-?e=sfhyI4 https://1drv.ms/u/s!Ai-PFrdirDvwj3oTs_gVPzFDjdyU?e=yjGRKz
"""
ROWS = tuple(_row(*line.split()) for line in RELEASED.strip().splitlines()[1:])


def main_args(row: Row, checkpoint: Path, data: Path, config: str) -> list[str]:
    """main.py's flags for one test of a row (what its run script's val modes pass)."""
    s = row.settings
    return ["--configs", str(SEG / "configs" / s["folder"] / config), "--phase", "test",
            "--test_split", "val", "--backbone", s["backbone"], "--model_name", s["model_name"],
            "--data_dir", str(data / s["subdir"]), "--resume", str(checkpoint)]


def evaluate(row: Row, checkpoint: Path, data: Path, work_dir: Path) -> dict[str, float]:
    """Single scale, then the row's multi-scale + flip config, predictions written to
    work_dir/{ss,ms}/ (label/ as the offline evaluator reads them); mIoU in percent."""
    device_type = "cuda" if torch.cuda.is_available() else "cpu"
    distributed.init(device_type)     # joins torchrun's group once (a no-op afterwards)
    setup_logging(None, "info")
    device = torch.device(device_type, distributed.local_rank()) if device_type == "cuda" \
        else torch.device("cpu")
    measured = {}
    for metric, config, tag in ((SS, "H_48_D_4.json", "ss"), (MS, row.settings["ms_config"], "ms")):
        configer, _ = load_config(main_args(row, checkpoint, data, config)
                                  + ["--out_dir", str(work_dir / tag)])
        measured[metric] = 100 * run_test(configer, device)["mIoU"]
    return measured


TOOL = Tool(__doc__, ROWS, evaluate, data_help="DATA_ROOT holding <dataset>/val/{image,label}",
            work_dir="output/reproduce_table")
run = TOOL.run

if __name__ == "__main__":
    TOOL.cli()
