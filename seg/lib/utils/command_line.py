"""main.py's command line: its flags (the original's, with the config keys they override; each
also spelled with dashes, `--base-lr` for `--base_lr`),
and the config they load: the JSON file (`_base_` files merged underneath, `Configer`), then the
flags, then trailing `key.sub value` pairs. Used by main.py and tools/reproduce_table.py."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..datasets.classes import DatasetClasses
from .config_check import reject_unknown_flags, reject_unknown_keys
from .configer import Configer

# flag -> dotted config key it overrides: most flags are named as their key in a section
SECTION_FLAGS = {
    "data": ("data_dir", "drop_last", "workers"),
    "checkpoints": ("checkpoints_root", "checkpoints_name"),
    "network": ("model_name", "backbone", "bn_type", "pretrained", "resume", "resume_strict",
                "resume_continue", "resume_eval_val", "with_cp", "drop_path_rate"),
    "optim": ("optim_method", "group_method"), "lr": ("base_lr", "lr_policy"),
    "loss": ("loss_type",), "solver": ("max_iters", "display_iter", "test_interval"),
    "logging": ("log_to_file", "log_file"), "test": ("out_dir", "save_prob"), "train": ("amp",),
}
FLAG_KEYS = {flag: f"{section}.{flag}" for section, flags in SECTION_FLAGS.items()
             for flag in flags} | {
    "phase": "phase", "gpu": "gpu", "seed": "seed", "train_batch_size": "train.batch_size",
    "val_batch_size": "val.batch_size", "test_split": "test.split"}
# The original's flags that change nothing in its HRFormer runs, nor here: accepted so its
# scripts run unchanged, noted in the log, written to no config key (README: "Flags").
NO_OP_FLAGS = ("gathered", "loss_balance", "nbb_mult", "save_iters", "max_epoch", "test_dir",
               "is_warm", "resume_eval_train")


def yes_no(text: str) -> bool:
    if text.lower() in ("y", "yes", "true", "1"):
        return True
    if text.lower() in ("n", "no", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected y or n, got {text!r}")


def spellings(name: str) -> list[str]:
    """A flag's dashed form first, then the original's underscore form (its scripts use it)."""
    dashed = f"--{name.replace('_', '-')}"
    return [dashed] if "_" not in name else [dashed, f"--{name}"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Train or test an HRFormer + OCR segmentor "
                                "(openseg command line).")
    p.add_argument("--configs", required=True, help="JSON config file")
    p.add_argument("--phase", choices=["train", "test"], default="train")
    p.add_argument("--gpu", type=int, nargs="+", help="GPU ids (process count for --distributed)")
    p.add_argument("--distributed", action="store_true",
                   help="one process per GPU; relaunches itself with torchrun if needed")
    p.add_argument(*spellings("local_rank"), dest="local_rank", type=int, default=None,
                   help="accepted for torch.distributed.launch; LOCAL_RANK is used")
    for flag in ("data_dir", "checkpoints_root", "checkpoints_name", "model_name", "backbone",
                 "bn_type", "pretrained", "resume", "optim_method", "group_method",
                 "lr_policy", "loss_type", "log_file", "test_dir", "out_dir"):
        p.add_argument(*spellings(flag), dest=flag, default=None)
    for flag in ("workers", "train_batch_size", "val_batch_size", "save_iters", "max_iters",
                 "max_epoch", "display_iter", "test_interval", "seed"):
        p.add_argument(*spellings(flag), dest=flag, type=int, default=None)
    for flag in ("base_lr", "nbb_mult", "drop_path_rate"):
        p.add_argument(*spellings(flag), dest=flag, type=float, default=None)
    for flag in ("drop_last", "resume_strict", "resume_continue", "resume_eval_train",
                 "resume_eval_val", "gathered", "loss_balance", "is_warm", "log_to_file",
                 "save_prob", "with_cp", "cudnn"):
        p.add_argument(*spellings(flag), dest=flag, type=yes_no, default=None, metavar="y|n")
    p.add_argument("--amp", choices=["fp16", "bf16", "none"], default=None)
    p.add_argument(*spellings("num_threads"), dest="num_threads", type=int, default=None,
                   help="CPU threads of this process (default: torch's choice)")
    p.add_argument(*spellings("test_split"), dest="test_split", choices=["val", "test"],
                   default=None,
                   help="split for --phase test (default: test if the out_dir name says so)")
    # accepted for compatibility with the original's scripts; they change nothing here
    p.add_argument("--shape", type=int, nargs="+", default=None, help=argparse.SUPPRESS)
    p.add_argument(*spellings("fig_num"), dest="fig_num", default=None, help=argparse.SUPPRESS)
    p.add_argument(*spellings("use_ground_truth"), dest="use_ground_truth", action="store_true",
                   help=argparse.SUPPRESS)
    return p


def load_config(argv: list[str]) -> tuple[Configer, argparse.Namespace]:
    """The config of main.py's arguments `argv`, and the parsed flags. Unknown flags and keys
    are refused, naming the closest valid one; so are class names or palette colours that
    do not match `data.num_classes` (`DatasetClasses`)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    reject_unknown_flags(extra, parser)
    configer = Configer.from_file(args.configs)
    configer.apply_overrides(vars(args), FLAG_KEYS)
    configer.apply_pairs(extra)
    reject_unknown_keys(configer.params, f"{args.configs} (with the command line)",
                        FLAG_KEYS.values())
    DatasetClasses.of(configer)
    root = configer.get("checkpoints.checkpoints_root", default=None)
    if root:
        configer.set("checkpoints.checkpoints_dir",
                     str(Path(root) / configer.get("checkpoints.checkpoints_dir")))
    return configer, args


def given_no_op_flags(args: argparse.Namespace) -> list[str]:
    """The no-op flags given on the command line, to note in the log."""
    return [flag for flag in NO_OP_FLAGS if getattr(args, flag) is not None]
