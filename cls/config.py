"""Experiment configuration (yacs), in the Swin-style format of the original cls code.

A yaml file overrides the defaults below; its optional `BASE: [other.yaml, ...]` list (paths
relative to the file) is merged first. `load_config` then applies `--opts KEY VALUE ...`
overrides and resolves the keys that depend on each other (drop path). Unknown keys, values of
the wrong type and unsupported values raise `ConfigError` naming the key and where it came from.
"""
from __future__ import annotations

from pathlib import Path

import yaml
from yacs.config import CfgNode

from models.hrformer import preset

BASE_KEY = "BASE"
# Stage layout used when a yaml file gives none (each released yaml sets its own).
DEFAULT_VARIANT = "hrt_small"
DEFAULT_INPUT_SIZE = 224
# ImageNet-1K. For the folder layout a run takes the count from the class folders unless the
# yaml file sets another value or --opts sets MODEL.NUM_CLASSES (main.py, data/classes.py).
DEFAULT_NUM_CLASSES = 1000
DATASETS = ("imagenet",)  # the original's --data-set choices other than IMNET are not implemented


class ConfigError(ValueError):
    """A config file or override names an unknown key or gives a value of the wrong type."""


def hrt_stage(stage: dict, stage_index: int) -> dict:
    """A core stage layout with the original yaml's extra per-stage keys filled in.

    NUM_RESOLUTIONS (feature sizes for a 224x224 input) is descriptive only: the model takes
    its sizes from the input. ATTN_TYPES / FFN_TYPES are [module][branch][block] lists.
    """
    out = dict(stage)
    branches, blocks = stage["NUM_BRANCHES"], stage["NUM_BLOCKS"]
    size = DEFAULT_INPUT_SIZE // 4  # stage 1 runs at 1/4 of the input
    out["NUM_RESOLUTIONS"] = [[size >> b, size >> b] for b in range(branches)]
    if stage_index > 1:
        for key, kind in (("ATTN_TYPES", "isa_local"), ("FFN_TYPES", "conv_mlp")):
            out[key] = [[[kind] * blocks[b] for b in range(branches)]
                        for _ in range(stage["NUM_MODULES"])]
    return out


def _hrt_defaults() -> CfgNode:
    layout = preset(DEFAULT_VARIANT)
    node = CfgNode({f"STAGE{s}": hrt_stage(layout[f"STAGE{s}"], s) for s in (1, 2, 3, 4)})
    node.DROP_PATH_RATE = 0.2
    return node


def default_config() -> CfgNode:
    """A fresh, mutable copy of the defaults."""
    c = CfgNode()

    c.DATA = CfgNode()
    c.DATA.BATCH_SIZE = 128          # per GPU
    c.DATA.DATA_PATH = ""
    c.DATA.DATASET = "imagenet"      # checked: one of DATASETS
    c.DATA.IMG_SIZE = DEFAULT_INPUT_SIZE
    c.DATA.INTERPOLATION = "bicubic"
    c.DATA.ZIP_MODE = False
    c.DATA.CACHE_MODE = "part"       # no | full | part
    c.DATA.PIN_MEMORY = True
    c.DATA.NUM_WORKERS = 8
    # Not in the original: skip unreadable images (counted in the log) instead of failing.
    c.DATA.SKIP_CORRUPT = False

    c.MODEL = CfgNode()
    c.MODEL.TYPE = "hrt"
    c.MODEL.NAME = DEFAULT_VARIANT
    c.MODEL.RESUME = ""
    c.MODEL.RESUME_ONLY_MODEL = False
    # Fine-tuning: a checkpoint (file or http(s) URL) whose fitting tensors initialise training.
    c.MODEL.PRETRAINED = ""
    c.MODEL.NUM_CLASSES = DEFAULT_NUM_CLASSES
    c.MODEL.DROP_RATE = 0.0          # dropout before the classifier
    # Stochastic depth of any MODEL.TYPE, as in Swin's configs. None: the model's own (for HRT
    # MODEL.HRT.DROP_PATH_RATE, the original's key; a value given here replaces it there).
    c.MODEL.DROP_PATH_RATE = None
    c.MODEL.LABEL_SMOOTHING = 0.1
    c.MODEL.HRT = _hrt_defaults()
    c.MODEL.TIMM_NAME = ""           # MODEL.TYPE 'timm': the timm.create_model name (baselines)

    c.TRAIN = CfgNode()
    c.TRAIN.START_EPOCH = 0
    c.TRAIN.EPOCHS = 300
    c.TRAIN.WARMUP_EPOCHS = 20
    c.TRAIN.WEIGHT_DECAY = 0.05
    c.TRAIN.BASE_LR = 5e-4           # for 512 images per step; scaled linearly
    c.TRAIN.WARMUP_LR = 5e-7
    c.TRAIN.MIN_LR = 5e-6
    c.TRAIN.CLIP_GRAD = 5.0
    c.TRAIN.AUTO_RESUME = True
    c.TRAIN.ACCUMULATION_STEPS = 0
    c.TRAIN.USE_CHECKPOINT = False
    c.TRAIN.LR_SCHEDULER = CfgNode()
    c.TRAIN.LR_SCHEDULER.NAME = "cosine"
    c.TRAIN.LR_SCHEDULER.DECAY_EPOCHS = 30
    c.TRAIN.LR_SCHEDULER.DECAY_RATE = 0.1
    c.TRAIN.OPTIMIZER = CfgNode()
    c.TRAIN.OPTIMIZER.NAME = "adamw"
    c.TRAIN.OPTIMIZER.EPS = 1e-8
    c.TRAIN.OPTIMIZER.BETAS = (0.9, 0.999)
    c.TRAIN.OPTIMIZER.MOMENTUM = 0.9  # sgd only

    c.AUG = CfgNode()
    c.AUG.COLOR_JITTER = 0.4
    c.AUG.AUTO_AUGMENT = "rand-m9-mstd0.5-inc1"
    c.AUG.REPROB = 0.25
    c.AUG.REMODE = "pixel"
    c.AUG.RECOUNT = 1
    c.AUG.MIXUP = 0.8
    c.AUG.CUTMIX = 1.0
    c.AUG.CUTMIX_MINMAX = None
    c.AUG.MIXUP_PROB = 1.0
    c.AUG.MIXUP_SWITCH_PROB = 0.5
    c.AUG.MIXUP_MODE = "batch"
    # Fixed in the original's timm calls; configurable here for small inputs (the digits demo).
    c.AUG.SCALE = (0.08, 1.0)        # RandomResizedCrop area range
    c.AUG.HFLIP = 0.5

    c.TEST = CfgNode()
    c.TEST.CROP = True

    c.AMP_OPT_LEVEL = "O1"           # O0: fp32; O1 / O2: torch.amp autocast
    c.AMP_DTYPE = "float16"          # float16 (with a GradScaler on CUDA) | bfloat16
    c.OUTPUT = ""
    c.TAG = "default"
    c.SAVE_FREQ = 1
    c.PRINT_FREQ = 10
    c.SEED = 0
    c.EVAL_MODE = False
    c.THROUGHPUT_MODE = False
    return c


def _merge(cfg: CfgNode, other: CfgNode | list, source: str) -> None:
    """Merge a node or a KEY VALUE list; yacs errors are re-raised naming `source`."""
    try:
        if isinstance(other, list):
            cfg.merge_from_list(other)
        else:
            cfg.merge_from_other_cfg(other)
    except (KeyError, ValueError, AssertionError) as err:
        message = err.args[0] if err.args else repr(err)
        raise ConfigError(f"{source}: {message}") from err


def _merge_file(cfg: CfgNode, path: Path, chain: tuple[Path, ...] = ()) -> None:
    path = path.resolve()
    if path in chain:
        raise ConfigError(f"{path}: BASE cycle through {' -> '.join(map(str, chain))}")
    if not path.is_file():
        where = f" (BASE of {chain[-1]})" if chain else ""
        raise ConfigError(f"config file not found: {path}{where}")
    with open(path) as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    bases = data.pop(BASE_KEY, [])
    if not isinstance(bases, list):
        raise ConfigError(f"{path}: {BASE_KEY} must be a list of yaml paths, got {bases!r}")
    for base in bases:
        if base:
            _merge_file(cfg, path.parent / base, chain + (path,))
    try:
        node = CfgNode(data)
    except AssertionError as err:  # a value yacs cannot hold (e.g. a date)
        raise ConfigError(f"{path}: {err}") from err
    _merge(cfg, node, str(path))


def load_config(cfg_path: str | Path, opts: list[str] | None = None) -> CfgNode:
    """Defaults, then the yaml file (with its BASE files), then `opts` as KEY VALUE pairs.

    Returns a frozen CfgNode.
    """
    cfg = default_config()
    _merge_file(cfg, Path(cfg_path))
    if opts:
        if len(opts) % 2:
            raise ConfigError(f"--opts: expected KEY VALUE pairs, got {len(opts)} items: {opts}")
        _merge(cfg, list(opts), "--opts")
    _resolve(cfg)
    cfg.freeze()
    return cfg


def _resolve(cfg: CfgNode) -> None:
    """Check DATA.DATASET; a MODEL.DROP_PATH_RATE given for HRT sets MODEL.HRT.DROP_PATH_RATE."""
    if cfg.DATA.DATASET not in DATASETS:
        raise ConfigError(f"DATA.DATASET={cfg.DATA.DATASET!r} is not supported; expected one of "
                          f"{list(DATASETS)} (ImageNet-1K in the folder or zipped layout)")
    if cfg.MODEL.TYPE == "hrt" and cfg.MODEL.DROP_PATH_RATE is not None:
        cfg.MODEL.DROP_PATH_RATE = float(cfg.MODEL.DROP_PATH_RATE)
        cfg.MODEL.HRT.DROP_PATH_RATE = cfg.MODEL.DROP_PATH_RATE
