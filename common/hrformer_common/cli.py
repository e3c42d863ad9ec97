"""What the inference and export commands of every task share: their runtime and output
flags, and the way they end on bad input."""
from __future__ import annotations

import argparse
import sys
from typing import Callable

from .runners import BACKENDS, PRECISIONS


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer >= 1")
    return value


def add_runtime_args(parser: argparse.ArgumentParser) -> None:
    """The runtime flags of the predict and demo commands."""
    parser.add_argument("--backend", choices=BACKENDS, default="torch")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32")
    parser.add_argument("--compile", action="store_true", help="torch.compile (backend torch)")
    parser.add_argument("--onnx", help="an exported model for onnxruntime / openvino "
                                       "(default: export the checkpoint to a temporary file)")
    parser.add_argument("--threads", type=positive_int, default=None, help="CPU threads")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (backend torch)")


def add_export_args(parser: argparse.ArgumentParser, verify_batch: int) -> None:
    """The output flags every task's export command shares."""
    parser.add_argument("--out", "--output", dest="out", required=True,
                        help="the .onnx file to write")
    parser.add_argument("--static-hw", action="store_true",
                        help="fixed height / width (dynamic batch only)")
    parser.add_argument("--verify-batch", type=positive_int, default=verify_batch)


def exit_on_bad_input(main: Callable[[], object], prog: str) -> None:
    """Run a command's `main()`; bad input (a missing or unreadable file, a wrong value, an
    output that cannot be written, an exported file of another model) ends it the way
    argparse ends on a bad flag: `<prog>: error: <message>` on stderr, exit status 2, no
    traceback."""
    try:
        main()
    except (OSError, ValueError, KeyError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"{prog}: error: {message}", file=sys.stderr)
        sys.exit(2)
