"""Iteration-based training with periodic validation, checkpoints and resume."""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from hrformer_common.checkpoint import load_checkpoint, save_atomic
from hrformer_common.finite import NonFiniteLossError, check_loss, check_state_finite
from hrformer_common.rng import gather_rng_states

from ..datasets import build_eval_loader, build_train_loader
from ..loss import build_loss
from ..solver import build_optimizer, lr_factor, set_lr
from ..utils import distributed
from ..utils.configer import Configer
from ..utils.logger import ETA
from .amp import autocast, grad_scaler, resolve_amp
from .checkpoints import checkpoint_path, make_checkpoint, restore_weights, unwrap
from .configured_segmentor import configured_segmentor
from .evaluator import evaluate, log_scores
from .inference import Predictor
from .position import LoaderPosition

log = logging.getLogger(__name__)


__all__ = ["NonFiniteLossError", "Trainer"]


class Trainer:
    def __init__(self, configer: Configer, device: torch.device) -> None:
        self.configer, self.device = configer, device
        # The data first: its folders and label values are checked before any weights load.
        self.train_loader = build_train_loader(configer)
        self.val_loader = build_eval_loader(configer, "val")
        self.amp = resolve_amp(configer.get("train.amp", default="none"), device)
        self.model = configured_segmentor(configer, device)
        self.loss = build_loss(configer).to(device)
        self.optimizer = build_optimizer(self.model, configer)
        self.scaler = grad_scaler(self.amp, device)
        self.iters = 0
        self.position = LoaderPosition()
        self.best_miou = -1.0
        self.resume_continue = False
        resume = configer.get("network.resume", default=None)
        if resume:
            self._resume(resume)
        self.lr_factor = lr_factor(configer)
        if distributed.is_distributed():
            self.model = DistributedDataParallel(
                self.model, device_ids=[device.index] if device.type == "cuda" else None)
        self.predictor = Predictor(configer, "val", mode="ss_test")
        self.writer = self._tensorboard()

    def _resume(self, path: str) -> None:
        ckpt = load_checkpoint(path)
        strict = self.configer.get("network.resume_strict", default=True)
        restore_weights(self.model, ckpt, f"checkpoint {path}", strict=strict)
        self.resume_continue = self.configer.get("network.resume_continue", default=False)
        if not self.resume_continue:
            log.info("loaded %s (weights only; --resume_continue n)", path)
            return
        saved = ckpt.get("config_dict", {})
        self.iters = saved.get("iters", 0)
        self.best_miou = saved.get("max_performance", -1.0)
        if "optimizer" in ckpt:
            self.optimizer.load_state_dict(ckpt["optimizer"])
        else:
            log.warning("%s holds no optimizer state (an original openseg file?): AdamW "
                        "moments restart from zero", path)
        if "scaler" in ckpt and self.scaler.is_enabled():
            self.scaler.load_state_dict(ckpt["scaler"])
        position = ckpt.get("position")
        if position and len(position["rng"]) == distributed.world_size():
            self.position = LoaderPosition.from_state_dict(position)
        else:
            log.warning("%s: no loader position for %d process(es): the data order restarts "
                        "with a new epoch", path, distributed.world_size())
        log.info("resumed %s at iteration %d (best mIoU %.4f)", path, self.iters,
                 self.best_miou)

    def _tensorboard(self):
        if not distributed.is_main() or not self.configer.get("logging.tensorboard",
                                                              default=True):
            return None
        from torch.utils.tensorboard import SummaryWriter
        logdir = Path(self.configer.get("checkpoints.checkpoints_dir")) / "tensorboard" / \
            self.configer.get("checkpoints.checkpoints_name")
        return SummaryWriter(str(logdir))

    def _scalar(self, tag: str, value: float) -> None:
        if self.writer is not None:
            self.writer.add_scalar(tag, value, self.iters)

    def _step(self, batch: dict) -> float:
        images = batch["img"].to(self.device, non_blocking=True)
        targets = batch["labelmap"].to(self.device, non_blocking=True)
        with autocast(self.amp, self.device):
            outputs = self.model(images)
        loss = self.loss([o.float() for o in outputs], targets)
        # Agreed by all processes, so that all of them stop (none waits in a collective).
        check_loss(loss, f"iteration {self.iters + 1}")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return loss.item()

    def train(self) -> float:
        """Train until `solver.max_iters`; returns the best validation mIoU."""
        cfg = self.configer
        if cfg.get("network.resume", default=None) and not self.resume_continue:
            if cfg.get("network.resume_eval_val", default=True):
                return self.validate(save=False)
            return self.best_miou
        max_iters = cfg.get("solver.max_iters")
        display, interval = cfg.get("solver.display_iter"), cfg.get("solver.test_interval")
        base_lr = cfg.get("lr.base_lr")
        eta = ETA(max_iters, self.iters)
        self.model.train()
        while self.iters < max_iters:
            data_start = time.perf_counter()
            for batch in self.position.epoch_batches(self.train_loader):
                data_time = time.perf_counter() - data_start
                lr = set_lr(self.optimizer, base_lr, self.lr_factor(self.iters))
                loss = self._step(batch)
                self.iters += 1
                self.position.batches += 1
                if self.iters % display == 0 or self.iters == max_iters:
                    log.info("iter %d/%d  epoch %d  loss %.4f  lr %.3g  data %.3fs  "
                             "%.3fs/iter  ETA %s", self.iters, max_iters, self.position.epoch,
                             loss, lr, data_time, eta.seconds_per_iter(self.iters),
                             eta.remaining(self.iters))
                    self._scalar("train/loss", loss)
                    self._scalar("train/lr", lr)
                if self.iters % interval == 0 or self.iters == max_iters:
                    self.validate()
                if self.iters >= max_iters:
                    break
                data_start = time.perf_counter()
            else:
                self.position.next_epoch()
        if self.writer is not None:
            self.writer.close()
        return self.best_miou

    def validate(self, save: bool = True) -> float:
        score = evaluate(self.model, self.val_loader, self.predictor,
                         self.configer.get("data.num_classes"), self.device)
        miou = score.miou()
        log.info("validation at iteration %d:", self.iters)
        log_scores(score, self.configer.get("data.class_names", default=None))
        self._scalar("val/mIoU", miou)
        self._scalar("val/pixel_acc", score.pixel_accuracy())
        improved = math.isfinite(miou) and miou > self.best_miou
        self.best_miou = miou if improved else self.best_miou
        rng = gather_rng_states() if save else []  # collective: before the rank-0 save
        if save and distributed.is_main():
            self._save("latest", rng)
            if improved:
                self._save("max_performance", rng)
        distributed.barrier()
        return miou

    def _save(self, tag: str, rng: list[dict]) -> None:
        check_state_finite(unwrap(self.model).state_dict(), f"{tag} at iteration {self.iters}")
        self.configer.set("iters", self.iters)
        self.configer.set("max_performance", self.best_miou)
        path = checkpoint_path(self.configer.get("checkpoints.checkpoints_dir"),
                               self.configer.get("checkpoints.checkpoints_name"), tag)
        checkpoint = make_checkpoint(self.model, self.configer.to_dict(), self.optimizer,
                                     self.scaler)
        checkpoint["position"] = self.position.state_dict(rng)
        save_atomic(checkpoint, path)
        log.info("saved %s", path)
