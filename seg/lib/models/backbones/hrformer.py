"""HRFormer backbone core (framework-free: torch and the standard library only).

Edited in common/ and copied byte-identical into cls/, pose/ and seg/ by `make vendor`; each
subproject wraps it in a thin adapter. Behaviour follows the original implementation (its
recorded outputs are the tests' fixtures, testdata/); where the original's three copies
differ, `HRFormerOptions` makes the choice explicit.
State-dict keys are the original's, so released checkpoints load unchanged. Forwards are plain
(the same in training and inference); `reparameterize_model` folds a model for inference, once.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

NormLayer = Callable[[int], nn.Module]

_STAGE_KEYS = ("NUM_MODULES", "NUM_BRANCHES", "NUM_BLOCKS", "NUM_CHANNELS", "NUM_HEADS",
               "NUM_MLP_RATIOS")
_PER_BRANCH_KEYS = ("NUM_BLOCKS", "NUM_CHANNELS", "NUM_HEADS", "NUM_MLP_RATIOS",
                    "NUM_WINDOW_SIZES")


def _stage(modules: int, channels: Sequence[int], heads: Sequence[int], window: int) -> dict:
    n = len(channels)
    return {"NUM_MODULES": modules, "NUM_BRANCHES": n, "NUM_BLOCKS": [2] * n,
            "NUM_CHANNELS": list(channels), "NUM_HEADS": list(heads),
            "NUM_MLP_RATIOS": [4] * n, "NUM_WINDOW_SIZES": [window] * n,
            "BLOCK": "TRANSFORMER_BLOCK"}


def _variant(channels: Sequence[int], heads: Sequence[int], modules: Sequence[int],
             drop_path_rate: float, window: int = 7) -> dict:
    stem = {"NUM_MODULES": 1, "NUM_BRANCHES": 1, "NUM_BLOCKS": [2], "NUM_CHANNELS": [64],
            "NUM_HEADS": [2], "NUM_MLP_RATIOS": [4], "BLOCK": "BOTTLENECK"}
    stages = {f"STAGE{s}": _stage(modules[s - 2], channels[:s], heads[:s], window)
              for s in (2, 3, 4)}
    return {"STAGE1": stem, **stages, "DROP_PATH_RATE": drop_path_rate}


# Stage layouts of the released models, in the original yaml's format.
PRESETS: dict[str, dict] = {
    "hrt_tiny": _variant([18, 36, 72, 144], [1, 2, 4, 8], [1, 3, 2], 0.0),
    "hrt_small": _variant([32, 64, 128, 256], [1, 2, 4, 8], [1, 4, 2], 0.0),
    "hrt_base": _variant([78, 156, 312, 624], [2, 4, 8, 16], [1, 4, 2], 0.2),
    "hrt_base_win13": _variant([78, 156, 312, 624], [2, 4, 8, 16], [1, 4, 2], 0.2, 13),
    "hrt_base_win15": _variant([78, 156, 312, 624], [2, 4, 8, 16], [1, 4, 2], 0.2, 15),
}


def preset(name: str) -> dict:
    """A deep copy of a named stage layout (`hrt_tiny`, `hrt_small`, `hrt_base`, ...)."""
    if name not in PRESETS:
        raise KeyError(f"unknown HRFormer variant {name!r}; expected one of {sorted(PRESETS)}")
    return copy.deepcopy(PRESETS[name])


def validate_config(config: dict) -> dict:
    """Check a stage layout and return it with upper-case keys; errors name the bad key."""
    cfg = {str(k).upper(): v for k, v in config.items()}
    for s in (1, 2, 3, 4):
        name = f"STAGE{s}"
        if name not in cfg:
            raise ValueError(f"HRFormer config: missing {name} (expected STAGE1..STAGE4)")
        stage = {str(k).upper(): v for k, v in cfg[name].items()}
        # The bottleneck stage has no attention: its heads and MLP ratios are optional.
        keys = _STAGE_KEYS[:4] if s == 1 else _STAGE_KEYS + ("NUM_WINDOW_SIZES",)
        for key in keys:
            if key not in stage:
                raise ValueError(f"HRFormer config: {name}.{key} is missing")
        branches = stage["NUM_BRANCHES"]
        if branches != (1 if s == 1 else s):
            raise ValueError(f"HRFormer config: {name}.NUM_BRANCHES={branches}, expected "
                             f"{1 if s == 1 else s}")
        for key in _PER_BRANCH_KEYS:
            if key in stage and len(stage[key]) != branches:
                raise ValueError(f"HRFormer config: {name}.{key} has {len(stage[key])} "
                                 f"entries, expected NUM_BRANCHES={branches}")
        if s > 1:
            for c, h in zip(stage["NUM_CHANNELS"], stage["NUM_HEADS"]):
                if c % h:
                    raise ValueError(f"HRFormer config: {name} has {c} channels, not "
                                     f"divisible by {h} heads")
        cfg[name] = stage
    cfg.setdefault("DROP_PATH_RATE", 0.0)
    return cfg


# Where the original's pose copy differs from the defaults (the cls and seg copies): no
# relative position bias, bilinear fusion without corner alignment, branch 0 out only.
COPY_OPTIONS: dict[str, dict] = {
    "pose": {"rel_pos_bias": False, "fuse_upsample_mode": "bilinear", "align_corners": False,
             "multiscale_output": False},
}


@dataclass(frozen=True)
class HRFormerOptions:
    """Choices where the original's copies differ, plus runtime switches.

    Defaults are the cls/seg behaviour; `HRFormerOptions.preset("pose")` is the pose copy's
    (`COPY_OPTIONS`).
    """

    rel_pos_bias: bool = True          # add the relative position bias to attention logits
    fuse_upsample_mode: str = "nearest"  # the 2^(j-i) upsampling inside fuse_layers
    align_corners: bool = True         # bilinear resizes in the fusion
    multiscale_output: bool = True     # False: the last module fuses into branch 0 only
    masked_padding: bool = False       # exclude window padding from attention (not original)
    attention: str = "sdpa"            # "sdpa" (fused kernels) or "math" (explicit softmax)
    with_cp: bool = False              # gradient checkpointing per transformer block
    channels_last: bool = True         # NHWC activations: blocks switch token/map views freely
    in_channels: int = 3
    drop_path_rate: float | None = None  # None: the config's DROP_PATH_RATE
    norm_layer: NormLayer = field(default=nn.BatchNorm2d)

    def __post_init__(self) -> None:
        if self.attention not in ("sdpa", "math"):
            raise ValueError(f"attention={self.attention!r}; expected 'sdpa' or 'math'")
        if self.fuse_upsample_mode not in ("nearest", "bilinear"):
            raise ValueError(f"fuse_upsample_mode={self.fuse_upsample_mode!r}; "
                             "expected 'nearest' or 'bilinear'")

    @classmethod
    def preset(cls, name: str, **overrides) -> HRFormerOptions:
        """The options of the original's `name` copy (`COPY_OPTIONS`), `overrides` on top."""
        if name not in COPY_OPTIONS:
            raise KeyError(f"no options preset {name!r}; expected one of {sorted(COPY_OPTIONS)}")
        return cls(**{**COPY_OPTIONS[name], **overrides})


class DropPath(nn.Module):
    """Stochastic depth per sample (identity in eval mode)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty([x.shape[0]] + [1] * (x.dim() - 1)).bernoulli_(keep)
        return x * mask.div_(keep)

    def extra_repr(self) -> str:
        return f"p={self.p}"


FOLDED_FOR_INFERENCE = ("this model was folded for inference by reparameterize(); build a new "
                        "model to train")


def fold_batchnorm(conv: nn.Conv2d, norm: nn.Module) -> nn.Module:
    """Fold an eval-mode BatchNorm into the conv that feeds it, in place (timm's `fuse`).

    Returns the module that takes the norm's place: `nn.Identity()`, or `norm` itself when it
    is not a BatchNorm with running statistics (nothing to fold, e.g. an Identity).
    """
    if not isinstance(norm, nn.modules.batchnorm._BatchNorm) or norm.running_var is None:
        return norm
    if norm.num_features != conv.out_channels:
        raise ValueError(f"cannot fold {norm} into {conv}: {norm.num_features} features, "
                         f"{conv.out_channels} conv outputs")
    with torch.no_grad():  # in float64, rounded once
        scale = torch.rsqrt(norm.running_var.double() + norm.eps)
        if norm.weight is not None:
            scale = scale * norm.weight.double()
        shift = -norm.running_mean.double()
        if conv.bias is not None:
            shift = shift + conv.bias.double()
        shift = shift * scale
        if norm.bias is not None:
            shift = shift + norm.bias.double()
        weight = conv.weight.double() * scale.view(-1, 1, 1, 1)
    dtype, grad = conv.weight.dtype, conv.weight.requires_grad
    conv.weight = nn.Parameter(weight.to(dtype), requires_grad=grad)
    conv.bias = nn.Parameter(shift.to(dtype), requires_grad=grad)
    return nn.Identity()


def fold_sequential(container: nn.Module) -> None:
    """Fold every BatchNorm that directly follows a conv inside the nn.Sequential containers
    of `container` (nested ones too): the next layer, or the first layer of a Sequential
    that comes next (openseg's conv, (BN, ReLU) layout)."""
    for seq in [m for m in container.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            conv, after = seq[i], seq[i + 1]
            if not isinstance(conv, nn.Conv2d):
                continue
            if isinstance(after, nn.Sequential) and len(after) > 0:
                after[0] = fold_batchnorm(conv, after[0])
            else:
                seq[i + 1] = fold_batchnorm(conv, after)


class FoldableModule(nn.Module):
    """A module whose `reparameterize()` folds its BatchNorm layers, and those of the foldable
    modules inside it, into the convs before them for inference, and may switch activations
    to in-place ones (`reparameterize_model` folds a whole model, heads included). Folded, it
    is inference-only: `train()` raises, `eval()` works."""

    folded = False  # set by reparameterize()

    def reparameterize(self) -> None:
        """Fold this module and every foldable module inside it, in place (a second call
        changes nothing), and leave it in eval mode."""
        for module in list(self.modules()):
            if isinstance(module, FoldableModule) and not module.folded:
                module.fold_for_inference()
                module.folded = True
        self.train(False)  # the new Identity layers too

    def fold_for_inference(self) -> None:
        """Fold this module's own layers (not those of foldable children): each conv +
        BatchNorm pair, and in-place activations where that is safe."""
        raise NotImplementedError

    def train(self, mode: bool = True) -> "FoldableModule":
        if mode and self.folded:
            raise RuntimeError(f"{type(self).__name__}: {FOLDED_FOR_INFERENCE}")
        return super().train(mode)


def reparameterize_model(model: nn.Module) -> nn.Module:
    """Fold `model` for inference, in place, once: `reparameterize()` on every submodule that
    has one (timm's convention), so task models fold their own heads too; then eval mode.
    Same outputs up to rounding, fewer passes over the activations. Returns `model`, whose
    folded parts refuse `train()` from then on."""
    for module in list(model.modules()):
        fold = getattr(module, "reparameterize", None)
        if callable(fold):
            fold()
    return model.eval()


class Bottleneck(FoldableModule):
    """ResNet bottleneck (expansion 4); `depthwise` makes the 3x3 conv depthwise."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, norm_layer: NormLayer, stride: int = 1,
                 downsample: nn.Module | None = None, depthwise: bool = False) -> None:
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = norm_layer(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False,
                               groups=planes if depthwise else 1)
        self.bn2 = norm_layer(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = norm_layer(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(y + shortcut)

    def fold_for_inference(self) -> None:
        self.bn1 = fold_batchnorm(self.conv1, self.bn1)
        self.bn2 = fold_batchnorm(self.conv2, self.bn2)
        self.bn3 = fold_batchnorm(self.conv3, self.bn3)
        if self.downsample is not None:
            fold_sequential(self.downsample)


def relative_position_index(window: int) -> Tensor:
    """index[i, j] = (r_i - r_j + ws - 1) * (2ws - 1) + (c_i - c_j + ws - 1)."""
    rows, cols = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    dr = rows[:, None] - rows[None, :] + window - 1
    dc = cols[:, None] - cols[None, :] + window - 1
    return dr * (2 * window - 1) + dc


class RelPosAttentionParams(nn.Module):
    """Parameters of one window attention, under the original's names (`attn.attn.*`)."""

    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer("relative_position_index", relative_position_index(window))
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.q_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def position_bias(self) -> Tensor:
        """(heads, N, N) bias for N = ws^2 tokens of a window."""
        n = self.relative_position_index.shape[0]
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        return bias.view(n, n, -1).permute(2, 0, 1)


def _window_padding(size: int, window: int) -> tuple[int, int]:
    """Centred zero padding (before, after) up to the next multiple of the window."""
    total = -size % window
    return total // 2, total - total // 2


class LocalWindowAttention(nn.Module):
    """Multi-head self-attention inside non-overlapping windows of a (B, H, W, C) map."""

    def __init__(self, dim: int, heads: int, window: int, options: HRFormerOptions) -> None:
        super().__init__()
        self.heads, self.window = heads, window
        self.use_bias = options.rel_pos_bias
        self.masked_padding = options.masked_padding
        self.attention = options.attention
        self.attn = RelPosAttentionParams(dim, heads, window)

    def _qkv_projection(self, x: Tensor) -> Tensor:
        p = self.attn
        weight = torch.cat([p.q_proj.weight, p.k_proj.weight, p.v_proj.weight])
        bias = torch.cat([p.q_proj.bias, p.k_proj.bias, p.v_proj.bias])
        return F.linear(x, weight, bias)

    def forward(self, x: Tensor) -> Tensor:
        b, h, w, c = x.shape
        ws, heads = self.window, self.heads
        x = pad_to_windows(x, ws)
        hp, wp = x.shape[1], x.shape[2]
        nh, nw, d = hp // ws, wp // ws, c // heads
        # One projection for q, k, v, then split windows and heads with a single copy.
        qkv = self._qkv_projection(x).view(b, nh, ws, nw, ws, 3, heads, d)
        qkv = qkv.permute(5, 0, 1, 3, 6, 2, 4, 7).reshape(3, b * nh * nw, heads, ws * ws, d)
        q, k, v = qkv.unbind(0)
        bias = self.attn.position_bias().unsqueeze(0).to(q.dtype) if self.use_bias else None
        if self.masked_padding:
            bias = add_padding_mask(bias, h, w, q, ws)
        out = window_attention(q, k, v, bias, self.attention)
        out = out.view(b, nh, nw, heads, ws, ws, d).permute(0, 1, 4, 2, 5, 3, 6)
        out = crop_windows(out.reshape(b, hp, wp, c), h, w)
        return self.attn.out_proj(out)


# Functions with shape-dependent Python control flow are leaves for torch.fx tracing
# (timm's and torchvision's feature extractors): the traced graph calls them as they are.
def pad_to_windows(x: Tensor, window: int) -> Tensor:
    """Centred zero padding of a (B, H, W, C) map up to multiples of the window."""
    top, bottom = _window_padding(x.shape[1], window)
    left, right = _window_padding(x.shape[2], window)
    if top + bottom + left + right == 0:
        return x
    return F.pad(x, (0, 0, left, right, top, bottom))


def crop_windows(x: Tensor, h: int, w: int) -> Tensor:
    """Undo `pad_to_windows`: the centred (h, w) part of a (B, Hp, Wp, C) map."""
    top, left = (x.shape[1] - h) // 2, (x.shape[2] - w) // 2
    if x.shape[1] == h and x.shape[2] == w:
        return x
    return x[:, top:top + h, left:left + w]


def add_padding_mask(bias: Tensor | None, h: int, w: int, q: Tensor, window: int) -> Tensor | None:
    """`bias` plus an additive key mask (-inf on the padding tokens of each window), for the
    (B * nW, heads, N, d) queries `q` of an (h, w) map padded by `pad_to_windows`."""
    top, bottom = _window_padding(h, window)
    left, right = _window_padding(w, window)
    if top + bottom + left + right == 0:
        return bias
    hp, wp = h + top + bottom, w + left + right
    valid = torch.zeros(hp, wp, dtype=torch.bool, device=q.device)
    valid[top:hp - bottom, left:wp - right] = True
    ws = window
    valid = valid.view(hp // ws, ws, wp // ws, ws).permute(0, 2, 1, 3).reshape(-1, ws * ws)
    mask = torch.zeros(valid.shape, dtype=q.dtype, device=q.device)
    mask = mask.masked_fill_(~valid, float("-inf"))[:, None, :]
    mask = mask.expand(q.shape[0] // valid.shape[0], -1, -1, -1).reshape(q.shape[0], 1, 1, ws * ws)
    return mask if bias is None else bias + mask


def window_attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None,
                     attention: str) -> Tensor:
    """softmax(q k^T * scale + bias) v, by `attention` "sdpa" (fused kernels) or "math"."""
    scale = q.shape[-1] ** -0.5
    # SDPA on CPU has no fused kernel for a mask that needs a gradient (the learnable bias
    # in training) and falls back to a slower generic path; the explicit one is faster.
    bias_grad = bias is not None and bias.requires_grad and not q.is_cuda
    if attention == "math" or bias_grad:
        logits = (q * scale) @ k.transpose(-2, -1)
        if bias is not None:
            logits = logits + bias
        return logits.softmax(dim=-1) @ v
    # Fused CUDA kernels need a head dim divisible by 8 in half precision (T: 18, B: 39).
    half_on_cuda = q.is_cuda and (q.dtype == torch.float16 or q.dtype == torch.bfloat16)
    return padded_sdpa(q, k, v, bias, scale, multiple=8 if half_on_cuda else 1)


def padded_sdpa(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None, scale: float,
                multiple: int) -> Tensor:
    """SDPA with the head dim zero-padded to a multiple: the logits are unchanged and the
    extra output columns are zero, so slicing them off gives the exact result."""
    d = q.shape[-1]
    pad = -d % multiple
    if pad:
        q, k, v = F.pad(q, (0, pad)), F.pad(k, (0, pad)), F.pad(v, (0, pad))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=scale)
    return out[..., :d] if pad else out


class ConvFFN(FoldableModule):
    """Point-wise conv, depthwise 3x3 conv, point-wise conv; BN + GELU after each."""

    def __init__(self, dim: int, hidden: int, norm_layer: NormLayer) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.norm1 = norm_layer(hidden)
        self.act1 = nn.GELU()
        self.dw3x3 = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.norm2 = norm_layer(hidden)
        self.act2 = nn.GELU()
        self.fc2 = nn.Conv2d(hidden, dim, 1)
        self.norm3 = norm_layer(dim)
        self.act3 = nn.GELU()

    def forward(self, x: Tensor) -> Tensor:
        x = self.act1(self.norm1(self.fc1(x)))
        x = self.act2(self.norm2(self.dw3x3(x)))
        return self.act3(self.norm3(self.fc2(x)))

    def fold_for_inference(self) -> None:
        self.norm1 = fold_batchnorm(self.fc1, self.norm1)
        self.norm2 = fold_batchnorm(self.dw3x3, self.norm2)
        self.norm3 = fold_batchnorm(self.fc2, self.norm3)
        # Each GELU's input is a fresh conv (or norm) output: overwrite it instead of
        # allocating the hidden-width activations again (HRFormer-S forward, CPU: ~6% faster).
        self.act1, self.act2, self.act3 = (InplaceGELU(act.approximate)
                                           for act in (self.act1, self.act2, self.act3))


class InplaceGELU(nn.GELU):
    """GELU written into its input: inference only, for an input nothing else holds (what
    `ConvFFN.fold_for_inference` installs after each of its convs)."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.ops.aten.gelu_(x, approximate=self.approximate)


def add_into_fresh(fresh: Tensor, other: Tensor) -> Tensor:
    """`fresh + other`, written into `fresh`: a temporary nobody else holds, whose producer
    (a linear, conv, BatchNorm or resize) keeps no copy of it for backward, so the in-place
    sum is safe under autograd too and saves allocating a new buffer."""
    if fresh.dtype != other.dtype or fresh.shape != other.shape:
        return fresh + other  # type promotion (autocast) or broadcasting: a new tensor
    return fresh.add_(other)


class TransformerBlock(nn.Module):
    """Pre-norm block: window attention, then the conv FFN; (B, C, H, W) in and out."""

    def __init__(self, dim: int, heads: int, window: int, mlp_ratio: float, drop_path: float,
                 options: HRFormerOptions) -> None:
        super().__init__()
        # Registration order gives the original's state-dict key order (attn before norms).
        self.attn = LocalWindowAttention(dim, heads, window, options)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = ConvFFN(dim, int(dim * mlp_ratio), options.norm_layer)
        self.drop_path = DropPath(drop_path)
        self.with_cp = options.with_cp

    def _forward(self, x: Tensor) -> Tensor:
        t = x.permute(0, 2, 3, 1)  # channels-last view; LayerNorm and Linear act on C
        t = add_into_fresh(self.drop_path(self.attn(self.norm1(t))), t)
        y = self.mlp(self.norm2(t).permute(0, 3, 1, 2))
        t = add_into_fresh(self.drop_path(y.permute(0, 2, 3, 1)), t)
        return t.permute(0, 3, 1, 2)

    def forward(self, x: Tensor) -> Tensor:
        if self.with_cp and self.training and x.requires_grad:
            return self._checkpointed_forward(x)
        return self._forward(x)

    # TorchScript has no gradient checkpointing: scripted, this raises. (No annotations:
    # TorchScript cannot resolve postponed ones on an unused method; it assumes Tensors.)
    @torch.jit.unused
    def _checkpointed_forward(self, x):
        return checkpoint(self._forward, x, use_reentrant=False)


def _conv_bn(cin: int, cout: int, norm_layer: NormLayer, kernel: int = 1, stride: int = 1,
             groups: int = 1, relu: bool = False) -> list[nn.Module]:
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
              norm_layer(cout)]
    return layers + [nn.ReLU(inplace=True)] if relu else layers


class HRModule(FoldableModule):
    """Parallel transformer branches followed by the multi-resolution fusion."""

    def __init__(self, stage: dict, drop_paths: Sequence[float], fuse_outputs: int,
                 options: HRFormerOptions) -> None:
        super().__init__()
        channels = stage["NUM_CHANNELS"]
        branches = stage.get("NUM_BRANCHES", len(channels))
        for key in _PER_BRANCH_KEYS:
            if key in stage and len(stage[key]) != branches:
                raise ValueError(f"HRModule: {key} has {len(stage[key])} entries, expected "
                                 f"NUM_BRANCHES={branches}")
        self.branches = nn.ModuleList(
            nn.Sequential(*(TransformerBlock(channels[b], stage["NUM_HEADS"][b],
                                             stage["NUM_WINDOW_SIZES"][b],
                                             stage["NUM_MLP_RATIOS"][b], drop_paths[k], options)
                            for k in range(stage["NUM_BLOCKS"][b])))
            for b in range(len(channels)))
        self.align_corners = options.align_corners
        self.fuse_layers = nn.ModuleList(
            nn.ModuleList(self._fuse_path(j, i, channels, options) for j in range(len(channels)))
            for i in range(fuse_outputs)) if len(channels) > 1 else None
        self.relu = nn.ReLU()

    @staticmethod
    def _fuse_path(j: int, i: int, channels: Sequence[int],
                   options: HRFormerOptions) -> nn.Module:
        norm = options.norm_layer
        if j == i:  # Identity, not None: TorchScript drops None entries of a ModuleList
            return nn.Identity()
        if j > i:
            mode = options.fuse_upsample_mode
            up = nn.Upsample(scale_factor=2 ** (j - i), mode=mode,
                             align_corners=options.align_corners if mode == "bilinear" else None)
            return nn.Sequential(*_conv_bn(channels[j], channels[i], norm), up)
        steps = []
        for step in range(i - j):
            last = step == i - j - 1
            cout = channels[i] if last else channels[j]
            steps.append(nn.Sequential(
                *_conv_bn(channels[j], channels[j], norm, 3, 2, groups=channels[j]),
                *_conv_bn(channels[j], cout, norm, relu=not last)))
        return nn.Sequential(*steps)

    def forward(self, xs: list[Tensor]) -> list[Tensor]:
        xs = [branch(xs[b]) for b, branch in enumerate(self.branches)]
        if self.fuse_layers is None:
            return xs
        out = []
        for i, paths in enumerate(self.fuse_layers):
            y: Optional[Tensor] = None
            owned = False  # y is a temporary of this loop, free to overwrite
            for j, path in enumerate(paths):
                z = xs[j] if j == i else path(xs[j])
                if j > i:
                    z = resize_like(z, xs[i], self.align_corners)
                if y is None:
                    y, owned = z, j != i
                else:
                    y = add_into_fresh(y, z) if owned else y + z
                    owned = True
            assert y is not None  # for TorchScript: every output has at least one input
            out.append(F.relu(y, inplace=owned))  # a sum of this loop: safe in place
        return out

    def fold_for_inference(self) -> None:
        if self.fuse_layers is not None:
            fold_sequential(self.fuse_layers)


def resize_like(x: Tensor, ref: Tensor, align_corners: bool) -> Tensor:
    """Bilinear resize of `x` to the spatial size of `ref` where it differs (odd sizes)."""
    if x.shape[-2:] == ref.shape[-2:]:
        return x
    return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=align_corners)


for _leaf in ("pad_to_windows", "crop_windows", "add_padding_mask", "window_attention",
              "add_into_fresh", "resize_like"):
    torch.fx.wrap(_leaf)


def _transition(pre: Sequence[int], cur: Sequence[int], norm: NormLayer) -> nn.ModuleList:
    """Keep existing branches (3x3 conv if the width changes); add new ones by stride 2."""
    # Identity, not None, for a kept branch: TorchScript drops None entries of a ModuleList.
    layers: list[nn.Module] = []
    for i, c in enumerate(cur):
        if i < len(pre):
            layers.append(nn.Sequential(*_conv_bn(pre[i], c, norm, 3, relu=True))
                          if pre[i] != c else nn.Identity())
            continue
        steps = [nn.Sequential(*_conv_bn(pre[-1], c if s == i - len(pre) else pre[-1], norm, 3,
                                         2, relu=True))
                 for s in range(i + 1 - len(pre))]
        layers.append(nn.Sequential(*steps))
    return nn.ModuleList(layers)


class HRFormer(FoldableModule):
    """The HRFormer backbone: stem, bottleneck stage, three multi-resolution stages.

    `forward` returns the stage-4 outputs, highest resolution first (one or four tensors).
    """

    def __init__(self, config: dict, options: HRFormerOptions | None = None) -> None:
        super().__init__()
        options = options or HRFormerOptions()
        cfg = validate_config(config)
        norm = options.norm_layer
        self.conv1 = nn.Conv2d(options.in_channels, 64, 3, 2, 1, bias=False)
        self.bn1 = norm(64)
        self.conv2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False)
        self.bn2 = norm(64)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._bottleneck_stage(cfg["STAGE1"], norm)
        self.channels_last = options.channels_last
        rate = cfg["DROP_PATH_RATE"] if options.drop_path_rate is None else options.drop_path_rate
        per_stage = [cfg[f"STAGE{s}"]["NUM_BLOCKS"][0] * cfg[f"STAGE{s}"]["NUM_MODULES"]
                     for s in (2, 3, 4)]
        dpr = torch.linspace(0, rate, sum(per_stage)).tolist()
        pre = [cfg["STAGE1"]["NUM_CHANNELS"][0] * Bottleneck.expansion]
        start = 0
        for s in (2, 3, 4):
            stage = cfg[f"STAGE{s}"]
            setattr(self, f"transition{s - 1}", _transition(pre, stage["NUM_CHANNELS"], norm))
            last = s == 4 and not options.multiscale_output
            setattr(self, f"stage{s}", self._transformer_stage(
                stage, dpr[start:start + per_stage[s - 2]], last, options))
            start += per_stage[s - 2]
            pre = stage["NUM_CHANNELS"]
        self.out_channels = list(pre if options.multiscale_output else pre[:1])

    @staticmethod
    def _bottleneck_stage(stage: dict, norm: NormLayer) -> nn.Sequential:
        planes = stage["NUM_CHANNELS"][0]
        out = planes * Bottleneck.expansion
        downsample = nn.Sequential(*_conv_bn(64, out, norm)) if out != 64 else None
        blocks = [Bottleneck(64, planes, norm, downsample=downsample)]
        blocks += [Bottleneck(out, planes, norm) for _ in range(1, stage["NUM_BLOCKS"][0])]
        return nn.Sequential(*blocks)

    @staticmethod
    def _transformer_stage(stage: dict, dpr: Sequence[float], branch0_only_at_end: bool,
                           options: HRFormerOptions) -> nn.Sequential:
        blocks = stage["NUM_BLOCKS"][0]
        modules = []
        for m in range(stage["NUM_MODULES"]):
            fuse_outputs = stage["NUM_BRANCHES"]
            if branch0_only_at_end and m == stage["NUM_MODULES"] - 1:
                fuse_outputs = 1
            modules.append(HRModule(stage, dpr[m * blocks:(m + 1) * blocks], fuse_outputs,
                                    options))
        return nn.Sequential(*modules)

    def forward(self, x: Tensor) -> list[Tensor]:
        return self.forward_branches(x)

    def forward_branches(self, x: Tensor) -> list[Tensor]:
        """The stage-4 outputs, highest resolution first (subclasses reuse it: TorchScript
        has no `super()`)."""
        if self.channels_last:  # convolutions keep the layout, so this holds throughout
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        xs = [self.layer1(x)]
        # Stage by stage, written out for TorchScript (no getattr by name, no Sequential
        # taking a list). A transition keeps or adapts a branch, or adds one from the last.
        xs = [t(xs[min(i, len(xs) - 1)]) for i, t in enumerate(self.transition1)]
        for module in self.stage2:
            xs = module(xs)
        xs = [t(xs[min(i, len(xs) - 1)]) for i, t in enumerate(self.transition2)]
        for module in self.stage3:
            xs = module(xs)
        xs = [t(xs[min(i, len(xs) - 1)]) for i, t in enumerate(self.transition3)]
        for module in self.stage4:
            xs = module(xs)
        return xs

    def fold_for_inference(self) -> None:
        """The stem and the transitions (the blocks and modules fold their own)."""
        self.bn1 = fold_batchnorm(self.conv1, self.bn1)
        self.bn2 = fold_batchnorm(self.conv2, self.bn2)
        for transition in (self.transition1, self.transition2, self.transition3):
            fold_sequential(transition)
