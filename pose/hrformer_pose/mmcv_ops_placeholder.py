"""A placeholder for `mmcv.ops` where mmcv-lite has no compiled ops (`mmcv._ext`).

mmpose imports `mmcv.ops` at module level in a few heads HRFormer never uses, so without
compiled ops `import mmpose.models` (and `mmpose.apis`) fails. The placeholder's attributes are
classes that raise a clear error when used. Standard library only: `make install` copies this
file into the venv with a `.pth` line that calls `register()` at interpreter start, so the
mmpose API works whatever is imported first; `hrformer_pose` also installs it on import.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

NAME = "mmcv.ops"


class MissingOpsModule(types.ModuleType):
    """Stands in for `mmcv.ops`: every attribute is a class that refuses to be used."""

    def __init__(self) -> None:
        super().__init__(NAME, "Placeholder: mmcv-lite has no compiled ops.")

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
    return type(name, (), {"__new__": refuse, "__doc__": message, "__module__": NAME})


def compiled_ops_missing() -> bool:
    """True if mmcv is installed without its compiled ops (imports the `mmcv` package)."""
    return (importlib.util.find_spec("mmcv") is not None
            and importlib.util.find_spec("mmcv._ext") is None)


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return MissingOpsModule()

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the attributes are made on first access."""


class PlaceholderFinder(importlib.abc.MetaPathFinder):
    """Answers `import mmcv.ops` with the placeholder when the compiled ops are missing."""

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != NAME or not compiled_ops_missing():
            return None
        return importlib.machinery.ModuleSpec(NAME, _Loader())


def register() -> None:
    """Put the finder first on `sys.meta_path` (once); costs nothing until mmcv.ops is imported."""
    if not any(isinstance(f, PlaceholderFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, PlaceholderFinder())
