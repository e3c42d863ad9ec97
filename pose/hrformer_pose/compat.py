"""Two environment fixes for mmpose 1.3.2 on mmcv-lite and torch >= 2.6, applied on import.

1. mmcv-lite ships without compiled ops (`mmcv._ext`), so `import mmcv.ops` fails, and with it
   `import mmpose.models`: a few heads that HRFormer never uses import `mmcv.ops` at module level.
   When the compiled ops are missing, a placeholder `mmcv.ops` is installed whose attributes are
   classes that raise a clear error when used.
2. torch >= 2.6 loads checkpoints with `weights_only=True`, and mmengine 0.10.7 calls
   `torch.load` without the argument, so checkpoints written by mmengine's own Runner are
   refused. Safety stays on: only the globals those checkpoints contain are allow-listed.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import pickle
import sys
import types

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

# HistoryBuffer pickles its statistics as `getattr(HistoryBuffer, name)` for these names.
_HISTORY_BUFFER_STATISTICS = ("min", "max", "current", "mean")
# numpy dtypes a checkpoint's meta may hold (numpy scalars, dataset_meta arrays).
_NUMPY_SCALAR_TYPES = (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                       np.uint32, np.uint64, np.float16, np.float32, np.float64)

_applied = False


class _MissingOpsModule(types.ModuleType):
    """Stands in for `mmcv.ops`: every attribute is a class that refuses to be used."""

    def __init__(self) -> None:
        super().__init__("mmcv.ops", "Placeholder: mmcv-lite has no compiled ops.")
        self.__spec__ = importlib.machinery.ModuleSpec("mmcv.ops", loader=None)

    def __getattr__(self, name: str) -> type:
        if name.startswith("__"):
            raise AttributeError(name)
        placeholder = _missing_op(name)
        setattr(self, name, placeholder)
        return placeholder


def _missing_op(name: str) -> type:
    message = (f"mmcv.ops.{name} needs mmcv's compiled ops (mmcv._ext), which mmcv-lite does "
               "not have; install full mmcv to use it")

    def refuse(cls: type, *args: object, **kwargs: object) -> None:
        raise RuntimeError(message)

    # A class, so that module-level subclassing in mmpose still imports; using it raises.
    return type(name, (), {"__new__": refuse, "__doc__": message, "__module__": "mmcv.ops"})


def install_mmcv_ops_placeholder() -> bool:
    """Install the `mmcv.ops` placeholder if mmcv's compiled ops are missing; True if installed."""
    if "mmcv.ops" in sys.modules or importlib.util.find_spec("mmcv._ext") is not None:
        return False
    import mmcv

    placeholder = _MissingOpsModule()
    sys.modules["mmcv.ops"] = placeholder
    mmcv.ops = placeholder
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
