"""bf16 autocast training on CPU through mmengine's optimizer-wrapper registry."""
import pytest
import torch
from hrformer_pose.amp import AutocastOptimWrapper
from mmengine.registry import OPTIM_WRAPPERS


def test_forward_runs_in_bf16_and_the_step_updates_fp32_weights():
    model = torch.nn.Linear(4, 3)
    wrapper = OPTIM_WRAPPERS.build(dict(type="AutocastOptimWrapper", dtype="bfloat16",
                                        optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(torch.ones(2, 4))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().pow(2).mean())
    assert model.weight.dtype == torch.float32 and not torch.equal(model.weight, before)


def test_fp16_is_refused_by_name():
    with pytest.raises(ValueError, match="dtype='float16'"):
        AutocastOptimWrapper(dtype="float16", optimizer=torch.optim.SGD([torch.zeros(1)], lr=1))
