"""The original's flags that change nothing here: accepted, written to no config key, noted in
the log, and listed in the README."""
import re
from pathlib import Path

import pytest

from lib.utils.command_line import NO_OP_FLAGS, build_parser, given_no_op_flags, load_config

SEG = Path(__file__).resolve().parents[1]
BASE = ["--configs", "configs/demo/H_48_D_4.json", "--phase", "train"]
VALUES = {"gathered": "y", "loss_balance": "y", "nbb_mult": "10", "save_iters": "100",
          "max_epoch": "3", "test_dir": "somewhere", "is_warm": "y", "resume_eval_train": "y"}


def test_every_no_op_flag_has_a_value_here():
    assert set(VALUES) == set(NO_OP_FLAGS)


@pytest.mark.parametrize("flag", NO_OP_FLAGS)
def test_no_op_flag_is_accepted_and_changes_no_config_key(flag, monkeypatch):
    monkeypatch.chdir(SEG)
    plain, _ = load_config(BASE)
    configer, args = load_config([*BASE, f"--{flag}", VALUES[flag]])
    assert configer.to_dict() == plain.to_dict()
    assert given_no_op_flags(args) == [flag]


def test_no_flags_given_none_reported():
    assert given_no_op_flags(build_parser().parse_args(BASE)) == []


def test_readme_lists_exactly_the_no_op_flags():
    text = " ".join((SEG / "README.md").read_text().split())
    sentence = re.search(r"No-op flags: (.*?) are accepted", text).group(1)
    assert sorted(re.findall(r"`--(\w+)`", sentence)) == sorted(NO_OP_FLAGS)

