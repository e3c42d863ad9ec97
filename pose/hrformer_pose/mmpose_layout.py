"""mmpose 1.x HRFormer's parameter names <-> the original's (which `HRT` uses).

mmpose's `HRFormer` backbone (and its model zoo) fuses the attention's input projections into
one `attn.attn.qkv` (rows q, k, v), names the output projection `attn.attn.proj` and the
feed-forward network `ffn`; the original has `q_proj`/`k_proj`/`v_proj`, `out_proj` and `mlp`.
Everything else (stem, transitions, fusion, norms, relative position tables, head) is the same.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

QKV = ".attn.attn.qkv."
_SPLIT = ("q_proj", "k_proj", "v_proj")  # the row blocks of mmpose's qkv, in order
_RENAMES = ((".attn.attn.proj.", ".attn.attn.out_proj."), (".ffn.", ".mlp."))


def is_mmpose_layout(keys: object) -> bool:
    """True if any key is one of mmpose's fused `qkv` projections."""
    return any(QKV in k for k in keys)


def from_mmpose_layout(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """mmpose 1.x HRFormer names -> the original's (other keys unchanged, order kept)."""
    out: dict[str, Tensor] = {}
    for key, value in state_dict.items():
        if QKV in key:
            head, param = key.split(QKV)
            if value.shape[0] % 3:
                raise ValueError(f"{key}: {value.shape[0]} rows, expected 3 x channels (q, k, v)")
            for name, part in zip(_SPLIT, value.chunk(3, dim=0)):
                out[f"{head}.attn.attn.{name}.{param}"] = part.clone()
            continue
        for old, new in _RENAMES:
            key = key.replace(old, new)
        out[key] = value
    return out


def to_mmpose_layout(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """The original's names -> mmpose 1.x HRFormer's (fused qkv, `proj`, `ffn`)."""
    out: dict[str, Tensor] = {}
    for key, value in state_dict.items():
        if ".attn.attn.q_proj." in key:
            head, param = key.split(".attn.attn.q_proj.")
            parts = []
            for name in _SPLIT:
                part_key = f"{head}.attn.attn.{name}.{param}"
                if part_key not in state_dict:
                    raise KeyError(f"{part_key} is missing: cannot fuse {head}'s qkv")
                parts.append(state_dict[part_key])
            out[f"{head}{QKV}{param}"] = torch.cat(parts)
            continue
        if ".attn.attn.k_proj." in key or ".attn.attn.v_proj." in key:
            continue  # fused with its q_proj above
        for new, old in _RENAMES:
            key = key.replace(old, new)
        out[key] = value
    return out


def load_mmpose_layout_hook(module: nn.Module, state_dict: dict, prefix: str, *args) -> None:
    """`load_state_dict` pre-hook: converts the module's mmpose-layout keys in place, so every
    loader (init_model, the Runner's --load-from and --resume, Pretrained init) reads them.

    Checkpoints without the relative position bias (`with_rpe=False`) have no tables or index
    buffers; the module's own are kept where its attention does not use them."""
    own = {k: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not is_mmpose_layout(own):
        return
    for key in own:
        del state_dict[key]
    converted = from_mmpose_layout(own)
    for name, value in module.state_dict().items():
        key = prefix + name
        unused_table = (name.endswith("relative_position_bias_table")
                        and not _uses_bias(module, name))
        if key not in converted and (name.endswith("relative_position_index") or unused_table):
            converted[key] = value
    state_dict.update(converted)


def _uses_bias(module: nn.Module, table_name: str) -> bool:
    """Whether the attention owning `...attn.attn.relative_position_bias_table` adds it."""
    attention = module.get_submodule(table_name.rsplit(".", 2)[0])
    return bool(getattr(attention, "use_bias", True))
