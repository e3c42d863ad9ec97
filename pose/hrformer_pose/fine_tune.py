"""Fine-tuning from a released checkpoint: `load_from` (or `tools/train.py --load-from`)
without `resume`.

mmengine loads `load_from` non-strictly and warns, a line per tensor, about each one that does
not fit (a head of another keypoint count) or is missing, whichever layer it is. Here every
tensor whose name and shape fit is loaded (the checkpoint in any pose layout: ours, the
original's `keypoint_head.*`, mmpose 1.x HRFormer's; a file or a URL), only head layers may
stay initialised (anything else is an error naming the file), and one log line names what
was re-initialised.
"""
from __future__ import annotations

from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from torch import nn

from hrformer_common.checkpoint import LoadReport, load_checkpoint, load_fitting_weights

from .checkpoint_keys import HEAD, pose_state_dict

# Layers a checkpoint of another keypoint count (or head) may leave initialised.
REINITIALISABLE = (HEAD,)


def load_for_fine_tuning(model: nn.Module, checkpoint: dict, source: str) -> LoadReport:
    """Load every tensor of a pose checkpoint that fits `model`; head layers that do not fit
    keep their initial values and are named in one log line."""
    state = pose_state_dict(checkpoint, source)
    report = load_fitting_weights(model, state, source, reinitialisable=REINITIALISABLE)
    print_log(f"load_from {report.fine_tune_summary()}", logger="current")
    return report


class PoseRunner(Runner):
    """mmengine's Runner whose `load_from` without `resume` fine-tunes (`load_for_fine_tuning`);
    resuming and everything else are mmengine's."""

    def load_or_resume(self) -> None:
        # The Runner keeps its load settings in these attributes (mmengine 0.10).
        if self._has_loaded or self._resume or self._load_from is None:
            super().load_or_resume()
            return
        checkpoint = load_checkpoint(self._load_from)  # weights-only; a URL downloaded once
        self.call_hook("after_load_checkpoint", checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        load_for_fine_tuning(model, checkpoint, str(self._load_from))
        self._has_loaded = True
