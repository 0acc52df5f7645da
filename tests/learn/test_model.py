"""Preprocessing and the network: scale invariance, fitted standardisation, output contract."""

from __future__ import annotations

import pytest
import torch

from upclens.learn.preprocess import Preprocess
from upclens.learn.resnet import ShapeNet
from upclens.learn.settings import TARGETS, TrainSettings


def _images(n: int = 32) -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    base = torch.rand(n, 1, 16, 16, generator=g) ** 4 * 100.0  # spans decades
    return base + 1e-6


@pytest.mark.parametrize("mode", ["raw", "log_global", "log_pixel"])
def test_preprocess_is_scale_free_and_standardised(mode: str) -> None:
    x = _images()
    pre = Preprocess(mode, 1e-3, (16, 16))
    pre.fit(x)
    z = pre(x)
    torch.testing.assert_close(pre(37.0 * x), z, rtol=1e-5, atol=1e-5)
    dims = (0, 1) if mode == "log_pixel" else (0, 1, 2, 3)
    torch.testing.assert_close(z.mean(dim=dims), torch.zeros_like(z.mean(dim=dims)),
                               atol=1e-4, rtol=0)
    torch.testing.assert_close(z.std(dim=dims, unbiased=False),
                               torch.ones_like(z.mean(dim=dims)), atol=1e-4, rtol=0)


def test_raw_mode_is_affine_in_the_unit_sum_image() -> None:
    x = _images(4)
    pre = Preprocess("raw", 1e-3, (16, 16))
    pre.mean.fill_(0.5)
    pre.std.fill_(2.0)
    expected = (256 * x / x.sum(dim=(-1, -2), keepdim=True) - 0.5) / 2.0
    torch.testing.assert_close(pre(x), expected)


def test_network_outputs_physical_units() -> None:
    torch.manual_seed(0)
    net = ShapeNet(TrainSettings(width=4, blocks=(1, 1), head=8), (16, 16)).eval()
    x = _images(5)
    mu, log_sigma, logit = net.standardised(x)
    net.target_mean.copy_(torch.tensor([0.1, 0.2, 0.3]))
    net.target_std.copy_(torch.tensor([2.0, 3.0, 4.0]))
    out = net(x)
    assert set(out) == {*TARGETS, *(f"{t}_sigma" for t in TARGETS), "skin_logit"}
    for k, name in enumerate(TARGETS):
        assert out[name].shape == (5,)
        torch.testing.assert_close(out[name], net.target_mean[k] + net.target_std[k] * mu[:, k])
        torch.testing.assert_close(out[f"{name}_sigma"],
                                   net.target_std[k] * torch.exp(log_sigma[:, k]))
        assert bool((out[f"{name}_sigma"] > 0).all())
    torch.testing.assert_close(out["skin_logit"], logit)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_gpu_is_refused() -> None:
    from upclens.errors import ParameterError
    from upclens.learn.distributed import resolve_device

    assert resolve_device("auto").type == "cpu"
    with pytest.raises(ParameterError, match="needs a CUDA GPU"):
        resolve_device("cuda")


def test_count_feature_tells_the_network_n() -> None:
    """Without count_feature the output ignores the image total; with it, the standardised
    log total (mean 0, std 1 on the fitted images) enters and the output depends on N."""
    torch.manual_seed(1)
    x = _images(6) * torch.logspace(0, 3, 6)[:, None, None, None]
    told = ShapeNet(TrainSettings(width=4, blocks=(1, 1), head=8, count_feature=True), (16, 16))
    told.preprocess.fit(x)
    f = told.preprocess.total_feature(x)
    assert f.shape == (6, 1)
    assert float(f.mean()) == pytest.approx(0.0, abs=1e-5)
    assert float(f.std(unbiased=False)) == pytest.approx(1.0, abs=1e-5)
    told.eval()
    assert not torch.allclose(told(x)["beta2"], told(10.0 * x)["beta2"])
    blind = ShapeNet(TrainSettings(width=4, blocks=(1, 1), head=8), (16, 16)).eval()
    torch.testing.assert_close(blind(x)["beta2"], blind(10.0 * x)["beta2"], rtol=1e-4,
                               atol=1e-5)
