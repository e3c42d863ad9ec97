"""The one numerical tolerance of this project: the fixtures', used by the tests, the export
check and the runtimes' comparison.

An output `out` matches a reference `ref` when, elementwise,
`|out - ref| <= REL_TOLERANCE * max|ref| + ABS_TOLERANCE` (fp32; the original's own
fp32-versus-fp64 gap is about 3e-7 relative).
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

REL_TOLERANCE, ABS_TOLERANCE = 2e-5, 1e-4


@dataclass(frozen=True)
class Difference:
    """How far one output is from its reference, and whether it is within the tolerance."""

    name: str
    max_abs: float
    max_rel: float  # max_abs / max|ref|
    bound: float
    ok: bool

    def __str__(self) -> str:
        verdict = "ok" if self.ok else "ABOVE TOLERANCE"
        return (f"{self.name}: max abs diff {self.max_abs:.3e}, rel {self.max_rel:.3e} "
                f"(bound {self.bound:.3e}) {verdict}")


def difference(name: str, out: Tensor, ref: Tensor) -> Difference:
    """Compare with the tolerance; a shape mismatch raises, naming the output."""
    if tuple(out.shape) != tuple(ref.shape):
        raise ValueError(f"output {name!r}: shape {tuple(out.shape)}, expected "
                         f"{tuple(ref.shape)}")
    out, ref = out.float(), ref.float()
    err = (out - ref).abs()
    scale = float(ref.abs().max()) if ref.numel() else 0.0
    bound = REL_TOLERANCE * scale + ABS_TOLERANCE
    max_abs = float(err.max()) if err.numel() else 0.0
    return Difference(name, max_abs, max_abs / max(scale, 1e-12), bound,
                      bool((err <= bound).all()))
