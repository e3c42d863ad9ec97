"""Two environment fixes for mmpose 1.3.2 on mmcv-lite and torch >= 2.6, applied on import.

1. mmcv-lite ships without compiled ops (`mmcv._ext`), so `import mmcv.ops` fails, and with it
   `import mmpose.models`: a few heads that HRFormer never uses import `mmcv.ops` at module level.
   When the compiled ops are missing, `import mmcv.ops` gives a placeholder whose attributes are
   classes that raise a clear error when used (`mmcv_ops_placeholder`, also registered at
   interpreter start by `make install`).
2. torch >= 2.6 loads checkpoints with `weights_only=True`, and mmengine 0.10.7 calls
   `torch.load` without the argument, so checkpoints written by mmengine's own Runner are
   refused. Safety stays on: only the globals those checkpoints contain are allow-listed.
"""
from __future__ import annotations

import pickle
import sys

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

try:  # the copy `make install` puts in the venv (same file), so both use one finder class
    import hrformer_mmcv_ops_placeholder as mmcv_ops_placeholder
except ImportError:
    from . import mmcv_ops_placeholder

# HistoryBuffer pickles its statistics as `getattr(HistoryBuffer, name)` for these names.
_HISTORY_BUFFER_STATISTICS = ("min", "max", "current", "mean")
# numpy dtypes a checkpoint's meta may hold (numpy scalars, dataset_meta arrays).
_NUMPY_SCALAR_TYPES = (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                       np.uint32, np.uint64, np.float16, np.float32, np.float64)

_applied = False


def install_mmcv_ops_placeholder() -> bool:
    """Make `import mmcv.ops` give the placeholder if mmcv's compiled ops are missing; True if
    it does (the finder `make install` registers at interpreter start, or one added here)."""
    if "mmcv.ops" in sys.modules:
        return isinstance(sys.modules["mmcv.ops"], mmcv_ops_placeholder.MissingOpsModule)
    if not mmcv_ops_placeholder.compiled_ops_missing():
        return False
    mmcv_ops_placeholder.register()
    return True


def _history_buffer_statistic(owner: type, name: str) -> object:
    """Replaces `getattr` during safe loading: only HistoryBuffer's statistics methods."""
    if owner is not HistoryBuffer or name not in _HISTORY_BUFFER_STATISTICS:
        raise pickle.UnpicklingError(
            f"refusing getattr({owner!r}, {name!r}) while loading a checkpoint: only "
            f"HistoryBuffer.{{{', '.join(_HISTORY_BUFFER_STATISTICS)}}} are allowed")
    return getattr(owner, name)


def mmengine_checkpoint_globals() -> list:
    """The globals of an mmengine Runner checkpoint that `weights_only` loading rejects."""
    # np.dtype(...) objects are instances of per-type classes (numpy.dtypes.Float64DType, ...)
    # that the unpickler must also be allowed to rebuild.
    dtype_classes = sorted({type(np.dtype(t)) for t in _NUMPY_SCALAR_TYPES}, key=str)
    return [
        HistoryBuffer,  # message_hub.log_scalars
        # The checkpoint names `builtins.getattr`; that name resolves to a guard allowing
        # only HistoryBuffer's statistics lookups, never getattr itself.
        (_history_buffer_statistic, "builtins.getattr"),
        np.ndarray, np.dtype, *dtype_classes,
        np._core.multiarray._reconstruct,  # ndarray pickles
        np._core.multiarray.scalar,  # numpy scalars, e.g. message_hub.runtime_info["eta"]
    ]


def allow_mmengine_checkpoints() -> bool:
    """Allow-list the mmengine checkpoint globals if torch loads safely by default."""
    if torch.__version__ < (2, 6):  # weights_only became the default in torch 2.6
        return False
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())
    return True


def apply_compat_fixes() -> None:
    """Apply both fixes once per process (idempotent)."""
    global _applied
    if _applied:
        return
    install_mmcv_ops_placeholder()
    allow_mmengine_checkpoints()
    _applied = True
