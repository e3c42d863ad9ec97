"""HRFormer ImageNet classifier: the backbone core plus the original classification head.

The classifier subclasses the core `HRFormer`, so backbone keys stay at the top level
(`conv1.weight`, `stage4.*`) next to the head's `incre_modules`, `downsamp_modules`,
`final_layer` and `classifier`, exactly as in the released checkpoints.
"""

from typing import Sequence

from timm.layers import SelectAdaptivePool2d
from torch import Tensor, nn

from .hrformer import (Bottleneck, HRFormer, HRFormerOptions, NormLayer, TransformerBlock,
                       fold_sequential)

# Bottleneck widths of the head per branch; outputs are 4x these (128, 256, 512, 1024).
HEAD_PLANES = (32, 64, 128, 256)
FINAL_CHANNELS = 2048


def increase_block(in_channels: int, planes: int, norm_layer: NormLayer) -> nn.Sequential:
    """One depthwise bottleneck widening a branch to 4 * planes (1x1 conv + BN shortcut)."""
    out = planes * Bottleneck.expansion
    shortcut = nn.Sequential(nn.Conv2d(in_channels, out, 1, bias=False), norm_layer(out))
    return nn.Sequential(Bottleneck(in_channels, planes, norm_layer, downsample=shortcut,
                                    depthwise=True))


def downsample_block(in_channels: int, out_channels: int, norm_layer: NormLayer) -> nn.Sequential:
    """Stride-2 depthwise 3x3 then 1x1 to the next width (both with bias), BN after each."""
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, 3, 2, 1, groups=in_channels),
        norm_layer(in_channels),
        nn.Conv2d(in_channels, out_channels, 1),
        norm_layer(out_channels),
        nn.ReLU(inplace=True))


def branch_indices(indices: int | Sequence[int] | None, count: int) -> list[int]:
    """timm's index convention: None all, n the last n, a sequence as given (negative: from
    the end)."""
    if indices is None:
        indices = count
    if isinstance(indices, int):
        if not 0 < indices <= count:
            raise ValueError(f"indices={indices}: expected 1..{count} (the last n branches)")
        return list(range(count - indices, count))
    take = [i + count if i < 0 else i for i in indices]
    if any(not 0 <= i < count for i in take):
        raise ValueError(f"indices={list(indices)}: expected branch indices in 0..{count - 1}")
    return take


class HRFormerClassifier(HRFormer):
    """Backbone + head, with timm's classifier interface (like timm's `hrnet`).

    `forward_branches` gives the four stage-4 maps, `forward_features` the fused 2048-channel
    map before pooling (stride 32), `forward_head` pools and classifies. `num_classes=0`
    removes the classifier (pooled features out), `global_pool=''` the pooling too.
    """

    def __init__(self, config: dict, num_classes: int = 1000,
                 options: HRFormerOptions | None = None, drop_rate: float = 0.0,
                 global_pool: str = "avg") -> None:
        options = options or HRFormerOptions()
        if not options.multiscale_output:
            raise ValueError("HRFormerClassifier needs all four stage-4 outputs "
                             "(HRFormerOptions.multiscale_output=True)")
        super().__init__(config, options)
        norm = options.norm_layer
        widths = [p * Bottleneck.expansion for p in HEAD_PLANES]
        self.incre_modules = nn.ModuleList(
            increase_block(c, p, norm) for c, p in zip(self.out_channels, HEAD_PLANES))
        self.downsamp_modules = nn.ModuleList(
            downsample_block(widths[i], widths[i + 1], norm) for i in range(len(widths) - 1))
        self.final_layer = nn.Sequential(nn.Conv2d(widths[-1], FINAL_CHANNELS, 1),
                                         norm(FINAL_CHANNELS), nn.ReLU(inplace=True))
        self.num_features = self.head_hidden_size = FINAL_CHANNELS
        # Branch i is the last stage-4 module's fusion into that branch (the sum of its
        # `fuse_layers.<i>` paths, then ReLU); timm's `feature_info` names that module.
        last = f"stage4.{len(self.stage4) - 1}.fuse_layers"
        self.feature_info = [dict(num_chs=c, reduction=4 * 2 ** i, module=f"{last}.{i}")
                             for i, c in enumerate(self.out_channels)]
        # Dropout on the pooled features (timm's drop_rate; the original's head had none).
        self.head_drop = nn.Dropout(drop_rate)
        self.reset_classifier(num_classes, global_pool)

    def get_classifier(self) -> nn.Module:
        return self.classifier

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        """A new (randomly initialised) classifier; 0 classes: none; `global_pool=''`: no
        pooling."""
        self.num_classes = num_classes
        if global_pool is not None:
            # 'avg' as timm's mean over H, W ('fastavg'): the original head's exact op.
            pool_type = "fastavg" if global_pool == "avg" else global_pool
            self.global_pool = SelectAdaptivePool2d(pool_type=pool_type, flatten=bool(pool_type))
        self.classifier = nn.Linear(self.num_features * self.global_pool.feat_mult(),
                                    num_classes) if num_classes > 0 else nn.Identity()

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Gradient checkpointing per transformer block in training (the core's `with_cp`)."""
        for block in self.modules():
            if isinstance(block, TransformerBlock):
                block.with_cp = enable

    def fold_for_inference(self) -> None:
        """The backbone's own pairs and the head's (its bottlenecks fold themselves)."""
        super().fold_for_inference()
        for name in ("downsamp_modules", "final_layer"):  # absent once pruned for features
            if hasattr(self, name):
                fold_sequential(getattr(self, name))

    def fuse_branches(self, branches: list[Tensor]) -> Tensor:
        """The head's top-down fusion of the branches into one 2048-channel map."""
        widened = [incre(branches[i]) for i, incre in enumerate(self.incre_modules)]
        y = widened[0]
        for i, down in enumerate(self.downsamp_modules):
            y = widened[i + 1] + down(y)
        return self.final_layer(y)

    def forward_features(self, x: Tensor) -> Tensor:
        return self.fuse_branches(self.forward_branches(x))

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """Pool globally, dropout (drop_rate), classify; `pre_logits`: the features before
        the classifier."""
        x = self.head_drop(self.global_pool(x))
        return x if pre_logits else self.classifier(x)

    def forward_intermediates(self, x: Tensor, indices: int | Sequence[int] | None = None,
                              norm: bool = False, stop_early: bool = False,
                              output_fmt: str = "NCHW", intermediates_only: bool = False
                              ) -> list[Tensor] | tuple[Tensor, list[Tensor]]:
        """timm's feature API: the selected stage-4 branches (and the final map unless
        `intermediates_only`). `norm` and `stop_early` have nothing to act on here."""
        if output_fmt != "NCHW":
            raise ValueError(f"output_fmt={output_fmt!r}; only 'NCHW' is supported")
        take = branch_indices(indices, len(self.out_channels))
        branches = self.forward_branches(x)
        selected = [branches[i] for i in take]
        return selected if intermediates_only else (self.fuse_branches(branches), selected)

    def prune_intermediate_layers(self, indices: int | Sequence[int] = 4,
                                  prune_norm: bool = False, prune_head: bool = True) -> list[int]:
        """For feature extraction: drop the classification head (fusion, pooling, classifier)."""
        take = branch_indices(indices, len(self.out_channels))
        if prune_head:
            del self.incre_modules, self.downsamp_modules, self.final_layer
            self.reset_classifier(0, "")
        return take

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))
