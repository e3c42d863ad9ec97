"""Make one config run on GPU clusters and on CPU-only machines alike: AMP, the process-group
backend and the DDP wrapper follow the device."""
from __future__ import annotations

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS

from hrformer_common import dist as hrformer_dist


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's DDP wrapper for CPU processes (gloo).

    mmengine's Runner always passes `device_ids=[LOCAL_RANK]`, which torch's DDP refuses for a
    module on the CPU; this wrapper drops it.
    """

    def __init__(self, module: torch.nn.Module, device_ids: list[int] | None = None,
                 **kwargs) -> None:
        super().__init__(module=module, device_ids=None, **kwargs)


def adapt_to_device(cfg: Config) -> Config:
    """Without CUDA: fp32 instead of AMP, gloo instead of NCCL, a CPU DDP wrapper (in place)."""
    if torch.cuda.is_available():
        return cfg
    wrapper = cfg.get("optim_wrapper", {})
    if wrapper.get("type") == "AmpOptimWrapper":
        wrapper.type = "OptimWrapper"
        for key in ("loss_scale", "dtype"):
            wrapper.pop(key, None)
        print_log("no CUDA: AmpOptimWrapper (fp16) replaced by OptimWrapper (fp32)",
                  logger="current")
    cfg.setdefault("env_cfg", {}).setdefault("dist_cfg", {})["backend"] = "gloo"
    model_wrapper = cfg.get("model_wrapper_cfg") or {}
    cfg.model_wrapper_cfg = {**model_wrapper, "type": "CPUDistributedDataParallel"}
    return cfg


def init_cpu_process_group(launcher: str) -> None:
    """Start the gloo process group for `--launcher pytorch` on a machine without CUDA.

    mmengine's own setup calls `torch.cuda.set_device` first, which fails without a GPU; once
    a group exists, the Runner uses it as is. Collectives time out after
    HRFORMER_DIST_TIMEOUT seconds (hrformer_common.dist).
    """
    if launcher != "pytorch" or torch.cuda.is_available() or dist.is_initialized():
        return
    hrformer_dist.init_process_group("gloo")
