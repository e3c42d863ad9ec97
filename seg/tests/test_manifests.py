"""Every released seg model: same keys and shapes as the original, exact parameter count."""
import pytest
import torch

from conftest import SEG_MANIFESTS, build_for_manifest
from hrformer_common.testing import load_recipe_weights, manifest


@pytest.fixture(scope="module", params=sorted(SEG_MANIFESTS))
def built(request):
    """(manifest name, model) built once per manifest for all tests below."""
    return request.param, build_for_manifest(request.param)


def test_state_dict_keys_and_shapes_match(built):
    name, model = built
    expected = {k: tuple(shape) for k, shape, _ in manifest(name)["keys"]}
    actual = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert actual.keys() == expected.keys()
    assert actual == expected


def test_parameter_count_is_exact(built):
    name, model = built
    assert sum(p.numel() for p in model.parameters()) == manifest(name)["num_params"]


def test_recipe_weights_load_strictly(built):
    name, model = built
    state = load_recipe_weights(model, name)
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())
