"""The CNN zoo: registration, torchvision's parameter counts and key names for the ImageNet
configurations, and a forward + backward pass of every small-input (28x28 / 32x32) variant."""

import numpy as np
import pytest

import nabla
from nabla import models, nn

CNNS = ["lenet5", "alexnet", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "googlenet", "resnet18", "resnet34", "resnet50"]

# torchvision's ImageNet models with 1000 classes (googlenet without the auxiliary heads)
IMAGENET = {"alexnet": 61_100_840, "googlenet": 6_624_904, "resnet18": 11_689_512, "resnet34": 21_797_672,
            "resnet50": 25_557_032}
SLOW_IMAGENET = {"vgg16": 138_357_544}  # ~7 s to build and initialise 138M parameters

# A few torchvision state-dict keys (with their shapes) per model, and the number of keys in all.
KEYS = {
    "alexnet": (16, {"features.0.weight": (64, 3, 11, 11), "features.3.weight": (192, 64, 5, 5),
                     "features.10.bias": (256,), "classifier.1.weight": (4096, 9216), "classifier.6.bias": (1000,)}),
    "googlenet": (344, {"conv1.conv.weight": (64, 3, 7, 7), "conv1.bn.running_var": (64,),
                        "inception3a.branch2.1.conv.weight": (128, 96, 3, 3),
                        "inception3a.branch3.1.conv.weight": (32, 16, 3, 3),
                        "inception4e.branch4.1.bn.num_batches_tracked": (),
                        "inception5b.branch1.conv.weight": (384, 832, 1, 1),
                        "fc.weight": (1000, 1024)}),
    "resnet18": (122, {"conv1.weight": (64, 3, 7, 7), "layer1.0.bn1.running_mean": (64,),
                       "layer2.0.downsample.0.weight": (128, 64, 1, 1), "layer2.0.downsample.1.weight": (128,),
                       "layer4.1.conv2.weight": (512, 512, 3, 3), "fc.weight": (1000, 512)}),
    "resnet50": (320, {"layer1.0.conv3.weight": (256, 64, 1, 1), "layer1.0.downsample.0.weight": (256, 64, 1, 1),
                       "layer3.5.bn3.num_batches_tracked": (), "layer4.2.conv2.weight": (512, 512, 3, 3),
                       "fc.weight": (1000, 2048)}),
}


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_every_cnn_is_registered_and_documented():
    assert set(CNNS) <= set(models.list_models())
    for name in CNNS:
        assert models.describe_model(name)


@pytest.mark.parametrize("name", list(IMAGENET))
def test_imagenet_parameter_counts_and_keys_equal_torchvisions(name):
    m = models.get_model(name)  # defaults: 1000 classes, 3 channels, 224x224
    assert _count(m) == IMAGENET[name]
    if name in KEYS:
        n_keys, some = KEYS[name]
        state = m.state_dict()
        assert len(state) == n_keys
        for key, shape in some.items():
            assert tuple(state[key].shape) == shape, key


def test_summary_shows_torchvisions_count():
    """nabla.summary runs one 224x224 image through ResNet-18 and reports torchvision's total."""
    text = nabla.summary(models.resnet18(), (3, 224, 224), print_fn=None)
    assert "Total params: 11,689,512" in text and "(None, 1000)" in text


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SLOW_IMAGENET))
def test_vgg_imagenet_parameter_counts(name):
    m = models.get_model(name)
    assert _count(m) == SLOW_IMAGENET[name]
    state = m.state_dict()
    assert len(state) == 32
    assert tuple(state["classifier.0.weight"].shape) == (4096, 25088)
    assert tuple(state["classifier.6.weight"].shape) == (1000, 4096)


def test_vgg_bn_keys_interleave_batchnorm_like_torchvision():
    m = models.vgg11_bn(num_classes=10, input_size=32)
    keys = list(m.state_dict())
    assert keys[:7] == ["features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
                        "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked"]
    assert "features.4.weight" in keys  # the second conv sits after conv, bn, relu, pool: index 4
    assert keys[-2:] == ["classifier.6.weight", "classifier.6.bias"]


SMALL = [(name, 3, 32) for name in CNNS]
SMALL += [(name, 1, 28) for name in ("lenet5", "resnet18", "vgg11", "googlenet", "alexnet")]


@pytest.mark.parametrize("name, channels, size", SMALL, ids=[f"{n}-{c}x{s}" for n, c, s in SMALL])
def test_small_variant_forward_backward(name, channels, size):
    model = models.get_model(name, num_classes=7, in_channels=channels, input_size=size)
    x = nabla.randn(2, channels, size, size)
    out = model(x)
    assert out.shape == (2, 7)
    loss = nabla.cross_entropy(out, nabla.tensor(np.array([1, 5])))
    loss.backward()
    missing = [k for k, p in model.named_parameters() if p.grad is None or not np.isfinite(p.grad.numpy()).all()]
    assert not missing, f"no finite gradient for {missing[:5]}"
    model.eval()
    with nabla.no_grad():
        assert model(x[:1]).shape == (1, 7)


def test_small_variants_have_the_classic_sizes():
    assert _count(models.lenet5()) == 61_706  # 1x28x28, 10 classes
    assert _count(models.resnet18(num_classes=10, input_size=32)) == 11_173_962  # the usual CIFAR ResNet-18
    assert tuple(models.resnet18(input_size=32).conv1.weight.shape) == (64, 3, 3, 3)


def test_build_model_fits_the_data_shape():
    """registry.build_model passes in_channels / input_size from the data set's sample shape."""
    m = models.build_model("lenet5", input_shape=(1, 28, 28), num_classes=10)
    assert m(nabla.randn(3, 1, 28, 28)).shape == (3, 10)
    m = models.build_model("resnet18", input_shape=(3, 32, 32), num_classes=100)
    assert isinstance(m.maxpool, nn.Identity) and m.fc.out_features == 100


def test_googlenet_auxiliary_heads():
    m = models.googlenet(num_classes=5, input_size=32, aux_logits=True)
    out = m(nabla.randn(2, 3, 32, 32))
    assert type(out).__name__ == "GoogLeNetOutputs" and [o.shape for o in out] == [(2, 5)] * 3
    (out.logits.sum() + 0.3 * (out.aux_logits1.sum() + out.aux_logits2.sum())).backward()
    assert m.aux1.fc2.weight.grad is not None
    m.eval()
    assert m(nabla.randn(1, 3, 32, 32)).shape == (1, 5)
    assert _count(models.googlenet(aux_logits=True)) == 13_004_888  # torchvision's googlenet(aux_logits=True)


def test_resnet_zero_init_residual():
    m = models.resnet50(num_classes=3, input_size=32, zero_init_residual=True)
    assert float(m.layer1[0].bn3.weight.abs().sum()) == 0.0
    assert float(m.layer1[0].bn1.weight.abs().sum()) > 0.0


@pytest.mark.parametrize("call, message", [
    (lambda: models.lenet5(input_size=8), r"lenet5: input_size 8 is too small"),
    (lambda: models.resnet18(num_classes=0), r"resnet18: num_classes must be a positive int"),
    (lambda: models.alexnet(in_channels=2.5), r"alexnet: in_channels must be a positive int"),
    (lambda: models.alexnet(input_size=7), r"alexnet: input_size 7 is too small.*at least 8x8"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
