"""Run a seg/scripts run_*.sh with DRY_RUN=1 and read back the commands it would run."""
from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

ENV = {"DRY_RUN": "1", "DATA_ROOT": "/data", "PRETRAINED_ROOT": "/pretrained", "NGPUS": "8"}


def script_commands(script: Path, mode: list[str], **env: str) -> list[list[str]]:
    out = subprocess.run(["bash", str(script), *mode], env={**os.environ, **ENV, **env},
                         capture_output=True, text=True, check=True).stdout
    return [shlex.split(line) for line in out.splitlines() if line.strip()]


def main_args(command: list[str]) -> list[str]:
    assert "main.py" in command, command
    assert command[1:3] == ["-m", "torch.distributed.run"]
    return command[command.index("main.py") + 1:]


def script_flags(script: Path, mode: list[str], **env: str) -> dict[str, str]:
    """main.py's `--flag value` pairs of the mode's first command (bare flags map to '')."""
    args, flags = main_args(script_commands(script, mode, **env)[0]), {}
    for i, arg in enumerate(args):
        if arg.startswith("--"):
            value = args[i + 1] if i + 1 < len(args) else ""
            flags[arg] = "" if value.startswith("--") else value
    return flags
