"""The backbone core beyond the fixtures: an independent naive attention, other variants,
sizes and windows, fast vs math paths (values and gradients), masking, layouts, schedules."""
from __future__ import annotations

import math
from functools import partial

import pytest
import torch
import torch.nn.functional as F

from models.hrformer import (HRFormer, HRFormerOptions, HRModule, LocalWindowAttention,
                             padded_sdpa, preset, reparameterize_model, validate_config)
from hrformer_common.checkpoint import resize_relative_position_tables


def naive_window_attention(module: LocalWindowAttention, x: torch.Tensor,
                           mask_padding: bool) -> torch.Tensor:
    """Window by window, head by head, straight from SPEC.md (zero-padded, centred)."""
    p, ws, heads = module.attn, module.window, module.heads
    b, h, w, c = x.shape
    d = c // heads
    ph, pw = math.ceil(h / ws) * ws - h, math.ceil(w / ws) * ws - w
    top, left = ph // 2, pw // 2
    xp = torch.zeros(b, h + ph, w + pw, c, dtype=x.dtype)
    xp[:, top:top + h, left:left + w] = x
    real = torch.zeros(h + ph, w + pw, dtype=torch.bool)
    real[top:top + h, left:left + w] = True
    out = torch.zeros_like(xp)
    coords = [(r, q) for r in range(ws) for q in range(ws)]
    for r0 in range(0, h + ph, ws):
        for c0 in range(0, w + pw, ws):
            tokens = torch.stack([xp[:, r0 + r, c0 + q] for r, q in coords], 1)  # (b, N, c)
            keep = torch.tensor([bool(real[r0 + r, c0 + q]) for r, q in coords])
            q_, k_, v_ = (lin(tokens) for lin in (p.q_proj, p.k_proj, p.v_proj))
            heads_out = []
            for hd in range(heads):
                sl = slice(hd * d, (hd + 1) * d)
                logits = (q_[..., sl] * d ** -0.5) @ k_[..., sl].transpose(1, 2)
                if module.use_bias:
                    bias = torch.empty(ws * ws, ws * ws)
                    for i, (ri, ci) in enumerate(coords):
                        for j, (rj, cj) in enumerate(coords):
                            idx = (ri - rj + ws - 1) * (2 * ws - 1) + (ci - cj + ws - 1)
                            bias[i, j] = p.relative_position_bias_table[idx, hd]
                    logits = logits + bias
                if mask_padding:
                    logits = logits.masked_fill(~keep, float("-inf"))
                heads_out.append(logits.softmax(-1) @ v_[..., sl])
            merged = p.out_proj(torch.cat(heads_out, -1))
            for n, (r, q) in enumerate(coords):
                out[:, r0 + r, c0 + q] = merged[:, n]
    return out[:, top:top + h, left:left + w]


def _randomised(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in module.parameters():
            t.copy_(torch.randn(t.shape, generator=g) * 0.3)
    return module


@pytest.mark.parametrize("window,size,heads,bias,masked", [
    (7, (14, 14), 2, True, False),
    (7, (10, 9), 1, True, False),
    (5, (6, 11), 3, False, False),
    (4, (9, 6), 2, True, True),
    (3, (5, 4), 1, False, True),
])
@pytest.mark.parametrize("attention", ["sdpa", "math"])
def test_window_attention_matches_naive(window, size, heads, bias, masked, attention):
    options = HRFormerOptions(rel_pos_bias=bias, masked_padding=masked, attention=attention)
    module = _randomised(LocalWindowAttention(heads * 4, heads, window, options)).eval()
    x = torch.randn(2, *size, heads * 4)
    with torch.no_grad():
        ours, ref = module(x), naive_window_attention(module, x, masked)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)


def test_masked_padding_changes_only_padded_windows():
    base = _randomised(LocalWindowAttention(8, 2, 4, HRFormerOptions())).eval()
    masked = LocalWindowAttention(8, 2, 4, HRFormerOptions(masked_padding=True)).eval()
    masked.load_state_dict(base.state_dict())
    divisible, ragged = torch.randn(1, 8, 8, 8), torch.randn(1, 7, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(base(divisible), masked(divisible))
        assert (base(ragged) - masked(ragged)).abs().max() > 1e-3


def _pair(name: str, **kw) -> tuple[HRFormer, HRFormer]:
    torch.manual_seed(0)
    fast = HRFormer(preset(name), HRFormerOptions(attention="sdpa", **kw))
    slow = HRFormer(preset(name), HRFormerOptions(attention="math", **kw))
    slow.load_state_dict(fast.state_dict())
    return fast, slow


@pytest.mark.parametrize("name,size", [("hrt_tiny", (61, 83)), ("hrt_small", (96, 64))])
def test_fast_path_equals_math_path_values_and_gradients(name, size):
    fast, slow = _pair(name)
    x = torch.randn(2, 3, *size)
    outs, grads = [], []
    for model in (fast.eval(), slow.eval()):  # eval: BN would otherwise cancel bias gradients
        out = model(x)
        loss = sum((o * torch.linspace(-1, 1, o.shape[1])[:, None, None]).sum() for o in out)
        loss.backward()
        outs.append(out)
        grads.append({n: p.grad for n, p in model.named_parameters()})
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    # Some gradients are zero in exact arithmetic (key biases: softmax is shift-invariant),
    # so the tolerance is relative to the largest gradient of the model.
    scale = max(g.abs().max() for g in grads[1].values())
    for key, g in grads[0].items():
        torch.testing.assert_close(g, grads[1][key], atol=1e-6 * scale.item(), rtol=1e-3, msg=key)


def _train_step_input_grad(dtype: torch.dtype, **options) -> list[torch.Tensor]:
    torch.manual_seed(0)
    model = HRFormer(preset("hrt_tiny"), HRFormerOptions(**options)).to(dtype).train()
    x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(1))
    x = x.to(dtype).requires_grad_()
    out = model(x)
    # Random weights: a plain sum has (nearly) zero gradient through train-mode BN.
    g = torch.Generator().manual_seed(2)
    sum((o * torch.randn(o.shape, generator=g).to(dtype)).sum() for o in out).backward()
    return [t.detach().double() for t in (*out, x.grad)]


def test_layout_and_checkpointing_match_a_float64_reference():
    reference = _train_step_input_grad(torch.float64, channels_last=False)
    ours = _train_step_input_grad(torch.float32, channels_last=True, with_cp=True)
    for ref, got in zip(reference, ours):
        assert ((got - ref).norm() / ref.norm()).item() < 1e-3


def test_larger_window_variant_runs_and_reports_outputs():
    cfg = preset("hrt_small")
    for s in (2, 3, 4):
        cfg[f"STAGE{s}"]["NUM_WINDOW_SIZES"] = [9] * s
    model = HRFormer(cfg).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 100, 76))
    assert [tuple(o.shape) for o in out] == [(1, 32, 25, 19), (1, 64, 13, 10),
                                              (1, 128, 7, 5), (1, 256, 4, 3)]
    table = model.stage2[0].branches[0][0].attn.attn.relative_position_bias_table
    assert table.shape == (17 * 17, 1)


def test_pose_options_single_output_and_bf16_autocast():
    model = HRFormer(preset("hrt_small"), HRFormerOptions.preset("pose")).eval()
    assert model.out_channels == [32]
    assert len(model.stage4[-1].fuse_layers) == 1
    assert not model.stage2[0].branches[0][0].attn.use_bias
    upsample = model.stage2[0].fuse_layers[0][1][-1]
    assert (upsample.mode, upsample.align_corners) == ("bilinear", False)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        (out,) = model(torch.randn(1, 3, 64, 48))
    assert out.shape == (1, 32, 16, 12) and out.dtype == torch.bfloat16
    assert torch.isfinite(out.float()).all()



def test_options_preset_takes_overrides_and_names_unknown_copies():
    options = HRFormerOptions.preset("pose", attention="math", rel_pos_bias=True)
    assert (options.attention, options.rel_pos_bias, options.multiscale_output) == \
        ("math", True, False)
    with pytest.raises(KeyError, match="no options preset 'det'; expected one of \\['pose'\\]"):
        HRFormerOptions.preset("det")


def test_drop_path_schedule_is_linear_over_stage_blocks():
    cfg = preset("hrt_base")  # 14 transformer block positions, rate 0.2
    model = HRFormer(cfg)
    rates = [blk.drop_path.p for s in (2, 3, 4) for module in getattr(model, f"stage{s}")
             for blk in module.branches[0]]
    assert rates == pytest.approx(torch.linspace(0, 0.2, 14).tolist())
    last_branch = [blk.drop_path.p for blk in model.stage4[1].branches[3]]
    assert last_branch == pytest.approx(rates[-2:])


def test_resized_tables_match_bilinear_grid_and_drop_index():
    small = HRFormer(preset("hrt_small"))
    cfg = preset("hrt_small")
    for s in (2, 3, 4):
        cfg[f"STAGE{s}"]["NUM_WINDOW_SIZES"] = [15] * s
    big = HRFormer(cfg)
    state = resize_relative_position_tables(small.state_dict(), big)
    assert not any(k.endswith("relative_position_index") for k in state)
    key = "stage3.0.branches.2.1.attn.attn.relative_position_bias_table"
    src = small.state_dict()[key]
    expect = F.interpolate(src.T.reshape(1, 4, 13, 13), size=(29, 29), mode="bilinear")
    torch.testing.assert_close(state[key], expect.reshape(4, -1).T)
    result = big.load_state_dict(state, strict=False)
    assert all(k.endswith("relative_position_index") for k in result.missing_keys)


@pytest.mark.parametrize("edit,message", [
    (lambda c: c.pop("STAGE3"), "missing STAGE3"),
    (lambda c: c["STAGE2"].pop("NUM_WINDOW_SIZES"), "STAGE2.NUM_WINDOW_SIZES is missing"),
    (lambda c: c["STAGE4"].update(NUM_HEADS=[1, 2, 4]), "STAGE4.NUM_HEADS has 3 entries"),
    (lambda c: c["STAGE2"].update(NUM_HEADS=[4, 2], NUM_CHANNELS=[30, 64]), "30 channels, not divisible"),
])
def test_invalid_configs_name_the_key(edit, message):
    cfg = preset("hrt_small")
    edit(cfg)
    with pytest.raises(ValueError, match=message):
        validate_config(cfg)


@pytest.mark.parametrize("key,value", [("NUM_BLOCKS", [2]), ("NUM_HEADS", [1, 2, 4]),
                                       ("NUM_WINDOW_SIZES", [7]), ("NUM_MLP_RATIOS", [4, 4, 4])])
def test_hr_module_rejects_per_branch_lists_of_another_length(key, value):
    """Checked by the module itself too (mmpose builds modules directly in its tests)."""
    stage = {**preset("hrt_tiny")["STAGE2"], key: value}
    with pytest.raises(ValueError, match=f"HRModule: {key} has {len(value)} entries, expected "
                                         "NUM_BRANCHES=2"):
        HRModule(stage, [0.0, 0.0], 2, HRFormerOptions())


def test_stage1_needs_no_attention_settings():
    cfg = preset("hrt_tiny")
    del cfg["STAGE1"]["NUM_HEADS"], cfg["STAGE1"]["NUM_MLP_RATIOS"]
    assert HRFormer(cfg).state_dict().keys() == HRFormer(preset("hrt_tiny")).state_dict().keys()


@pytest.mark.parametrize("d", [18, 39, 32])
def test_head_dim_padding_is_exact(d):
    q, k, v = (torch.randn(3, 2, 49, d) for _ in range(3))
    bias = torch.randn(1, 2, 49, 49)
    plain = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=d ** -0.5)
    torch.testing.assert_close(padded_sdpa(q, k, v, bias, d ** -0.5, multiple=8), plain)


def _with_statistics(model: torch.nn.Module) -> torch.nn.Module:
    """Non-trivial BatchNorm statistics and affine parameters, so that folding matters."""
    g = torch.Generator().manual_seed(3)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) * 2 - 1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) - 0.5)
    return model


def test_reparameterize_folds_every_batchnorm_without_changing_values():
    torch.manual_seed(0)
    model = _with_statistics(HRFormer(preset("hrt_tiny")).train())
    x = torch.randn(1, 3, 64, 80)  # branches 16x20 .. 2x3: padded windows, odd resizes
    with torch.no_grad():
        unfolded = model.eval()(x)
    assert reparameterize_model(model.train()) is model  # folding switches to eval mode
    assert not model.training and not any(m.training for m in model.modules())
    assert not [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        folded = model(x)
        reparameterize_model(model)  # a second fold changes nothing
        again = model(x)
    for a, b, c in zip(unfolded, folded, again):
        torch.testing.assert_close(b, a, atol=1e-4, rtol=1e-4)
        assert torch.equal(c, b)


def test_folded_model_refuses_training_but_evaluates():
    task_model = torch.nn.Sequential(HRFormer(preset("hrt_tiny")), torch.nn.Identity())
    reparameterize_model(task_model)
    refusal = r"this model was folded for inference by reparameterize\(\); build a new model"
    with pytest.raises(RuntimeError, match="HRFormer: " + refusal):
        task_model.train()
    block = task_model[0].stage2[0].branches[0][0].mlp
    with pytest.raises(RuntimeError, match="ConvFFN: " + refusal):
        block.train(True)
    task_model.eval()
    assert not any(m.training for m in task_model.modules())


def test_batchnorm_without_running_statistics_stays():
    """Such a norm normalises by the batch even in eval mode: nothing to fold."""
    norm = partial(torch.nn.BatchNorm2d, track_running_stats=False)
    model = HRFormer(preset("hrt_tiny"), HRFormerOptions(norm_layer=norm)).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        before = model(x)
        count = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
        reparameterize_model(model)
        assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) == count
        for a, b in zip(before, model(x)):
            assert torch.equal(a, b)
