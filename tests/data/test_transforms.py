"""Image transforms: values, per-sample randomness on batches, seeding, errors."""

import numpy as np
import pytest

import nabla
from nabla.data.transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip, ToFloat


def test_to_float_and_normalize():
    img = np.arange(2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 3) * 10
    x = ToFloat()(img)
    assert x.dtype == nabla.float32 and abs(x.max().item() - 110 / 255) < 1e-6
    y = Normalize([0.5, 0.25], [0.5, 0.25])(x)
    np.testing.assert_allclose(y.numpy()[1], (x.numpy()[1] - 0.25) / 0.25, rtol=1e-6)
    with pytest.raises(ValueError, match="3 values but the image has 2 channels"):
        Normalize([0.1, 0.2, 0.3], 1.0)(x)
    with pytest.raises(ValueError, match="std must be positive"):
        Normalize(0.0, 0.0)


def test_flip_per_sample_and_seeded():
    batch = nabla.tensor(np.arange(8 * 1 * 2 * 3, dtype=np.float32).reshape(8, 1, 2, 3))
    nabla.manual_seed(3)
    a = RandomHorizontalFlip(0.5)(batch).numpy()
    nabla.manual_seed(3)
    b = RandomHorizontalFlip(0.5)(batch).numpy()
    np.testing.assert_array_equal(a, b)
    src = batch.numpy()
    flipped = [np.array_equal(a[i], src[i][..., ::-1]) for i in range(8)]
    kept = [np.array_equal(a[i], src[i]) for i in range(8)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    assert np.array_equal(RandomHorizontalFlip(1.0)(src[0]).numpy(), src[0][..., ::-1])


def test_random_crop_windows_come_from_the_padded_image():
    img = np.arange(3 * 4 * 4, dtype=np.float32).reshape(3, 4, 4) + 1
    padded = np.pad(img, ((0, 0), (2, 2), (2, 2)))
    batch = np.stack([img] * 6)
    out = RandomCrop(4, padding=2)(batch).numpy()
    assert out.shape == (6, 3, 4, 4)
    for o in out:
        assert any(np.array_equal(o, padded[:, i:i + 4, j:j + 4]) for i in range(5) for j in range(5))
    assert len({o.tobytes() for o in out}) > 1  # different windows per sample
    assert RandomCrop(4)(img).numpy().tolist() == img.tolist()  # no padding: the only window
    with pytest.raises(ValueError, match="larger than the padded image"):
        RandomCrop(5)(img)


def test_compose_and_errors():
    t = Compose([ToFloat(), Normalize(0.5, 0.5)])
    out = t(np.full((1, 2, 2), 255, dtype=np.uint8))
    np.testing.assert_allclose(out.numpy(), 1.0)
    with pytest.raises(TypeError, match="not callable"):
        Compose([1])
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        RandomCrop(2)(np.zeros((4, 4)))
