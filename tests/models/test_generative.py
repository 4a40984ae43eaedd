"""Generative models (autoencoders, VAE, GANs): shapes, the new pieces against PyTorch (values and
gradients, and gradcheck in float64), whole-model losses against a PyTorch twin with the same
weights, short trainings that learn, bit-exact resume with two optimizers, seeded sampling."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from oracle.helpers import F64, check, gradcheck

import nabla
from nabla import models, optim
from nabla.data import DataLoader, TensorDataset
from nabla.models.autoencoder import autoencoder_psnr
from nabla.models.vae import gaussian_log_likelihood
from nabla.train import BackupAndRestore, Callback, ImageGrid, Trainer

NAMES = ["ae", "dae", "vae", "gan", "dcgan", "cgan"]


def _digits(n=None):
    from nabla.data.datasets import load_dataset

    train, test, _ = load_dataset("digits")
    x, y = train.tensors if hasattr(train, "tensors") else zip(*[train[i] for i in range(len(train))])
    x, y = np.asarray(x, np.float32), np.asarray(y, np.int64)
    if n:
        x, y = x[:n], y[:n]
    return x, y


def _build(name, shape=(1, 28, 28), **kw):
    return models.build_model(name, shape, 10, **kw)


def _optimizer(model, lr=1e-3):
    return model.configure_optimizers(lr=lr) if hasattr(model, "configure_optimizers") else \
        optim.Adam(model.parameters(), lr=lr)


# ----------------------------------------------------------------------------------------- the zoo


def test_registered_and_documented():
    assert set(NAMES) <= set(models.list_models())
    for name in NAMES:
        assert models.describe_model(name)


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 8, 8)])
@pytest.mark.parametrize("name,arch", [("ae", "mlp"), ("ae", "conv"), ("dae", "mlp"), ("vae", "mlp"),
                                       ("vae", "conv"), ("gan", None), ("dcgan", None), ("cgan", "conv"),
                                       ("cgan", "mlp")])
def test_shapes_and_sample_range(name, arch, shape):
    m = _build(name, shape, **({"arch": arch} if arch else {}))
    x = nabla.rand(5, *shape)
    y = nabla.tensor(np.arange(5) % 10)
    s = m.sample(6, seed=1)
    assert s.shape == (6, *shape)
    assert 0.0 <= float(s.min()) and float(s.max()) <= 1.0
    grid = m.progress_images(x, y)
    assert grid.shape[1:] == shape and 0 <= grid.min() and grid.max() <= 1
    if name in ("ae", "dae"):
        code = m.encode(x)
        assert code.shape == (5, m.code_size)
        assert m.decode(code).shape == (5, *shape)
        assert m(x).shape == (5, *shape)
    if name == "vae":
        mu, logvar = m.encode(x)
        assert mu.shape == logvar.shape == (5, 20)
        assert m.decode(mu).shape == (5, *shape)
    if name in ("gan", "dcgan", "cgan"):
        z = nabla.randn(5, m.latent_size)
        img = m.generate(z, y if m.num_classes else None)
        assert img.shape == (5, *shape)
        assert m.discriminate(img, y if m.num_classes else None).shape == (5,)
    loss = m.train_step((x, y), _optimizer(m))
    assert np.isfinite(loss["loss"]) and all(np.isfinite(v) for v in loss["logs"].values())


@pytest.mark.parametrize("kwargs,match", [
    ({"name": "ae", "code_size": 1000}, "over-complete"),
    ({"name": "ae", "arch": "conv", "shape": (1, 30, 30)}, "divisible by 4"),
    ({"name": "ae", "sparsity": "l2"}, "sparsity"),
    ({"name": "dae", "noise": "salt"}, "noise"),
    ({"name": "dae", "noise": "mask", "noise_level": 1.0}, "probability"),
    ({"name": "vae", "likelihood": "poisson"}, "likelihood"),
    ({"name": "vae", "beta": -1.0}, "beta"),
    ({"name": "gan", "label_smoothing": 0.7}, "label_smoothing"),
    ({"name": "dcgan", "fc": -1}, "fc must be an int >= 0"),
    ({"name": "vae", "latent_size": 0}, "latent_size"),
])
def test_bad_arguments_are_clear_errors(kwargs, match):
    kwargs = dict(kwargs)
    name, shape = kwargs.pop("name"), kwargs.pop("shape", (1, 28, 28))
    with pytest.raises(ValueError, match=match):
        _build(name, shape, **kwargs)


def test_over_complete_with_a_penalty_builds_and_penalises():
    for sparsity in ("l1", "kl"):
        m = _build("ae", code_size=1000, sparsity=sparsity, sparsity_weight=0.1)
        x = nabla.rand(4, 1, 28, 28)
        loss, logs = m.loss(x)
        assert logs["sparsity"] > 0
        code = m.encode(x)
        assert float(loss.item()) == pytest.approx(float(m.reconstruction_loss(m.decoder(code), x).item())
                                                   + float(m.penalty(code).item()), rel=1e-5)


# ------------------------------------------------------------------------------ the pieces vs PyTorch


def test_reparameterize_with_fixed_eps_matches_torch():
    eps = np.random.default_rng(3).standard_normal((6, 4)).astype(np.float32)
    check(lambda mu, lv: models.reparameterize(mu, lv, nabla.tensor(eps)), [(6, 4), (6, 4)],
          lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.from_numpy(eps))
    gradcheck(lambda mu, lv: models.reparameterize(mu, lv, nabla.tensor(eps[:3, :2].astype(F64))), [(3, 2), (3, 2)])


def test_gaussian_kl_matches_torch_distributions():
    def torch_kl(mu, lv):
        q = torch.distributions.Normal(mu, torch.exp(0.5 * lv))
        p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
        return torch.distributions.kl_divergence(q, p).sum(1)
    check(models.gaussian_kl, [(7, 5), (7, 5)], torch_kl)
    gradcheck(models.gaussian_kl, [(3, 4), (3, 4)])


def test_bernoulli_elbo_matches_torch():
    x = np.random.default_rng(4).random((5, 1, 4, 4)).astype(np.float32)

    def torch_elbo(logits, mu, lv):
        rec = -TF.binary_cross_entropy_with_logits(logits, torch.from_numpy(x), reduction="none").flatten(1).sum(1)
        kl = 0.5 * (mu ** 2 + lv.exp() - 1 - lv).sum(1)
        return (rec - 0.7 * kl).mean()
    check(lambda logits, mu, lv: models.bernoulli_elbo(logits, nabla.tensor(x), mu, lv, beta=0.7),
          [(5, 1, 4, 4), (5, 3), (5, 3)], torch_elbo)
    x64 = x[:2, :, :2, :2].astype(F64)
    gradcheck(lambda logits, mu, lv: models.bernoulli_elbo(logits, nabla.tensor(x64), mu, lv), [(2, 1, 2, 2), (2, 3),
                                                                                                  (2, 3)])


def test_gaussian_log_likelihood_matches_torch():
    x = np.random.default_rng(5).random((4, 6)).astype(np.float32)
    check(lambda m, s: gaussian_log_likelihood(m, s, nabla.tensor(x)), [(4, 6), (1,)],
          lambda m, s: torch.distributions.Normal(m, s.exp()).log_prob(torch.from_numpy(x)).sum(1))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_gan_losses_match_torch(smoothing):
    def torch_d(real, fake):
        return (TF.binary_cross_entropy_with_logits(real, torch.full_like(real, 1 - smoothing))
                + TF.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    check(lambda r, f: models.discriminator_loss(r, f, smoothing), [(8,), (8,)], torch_d)
    check(models.generator_loss, [(8,)], lambda f: TF.softplus(-f).mean())  # non-saturating: -log sigmoid(f)
    gradcheck(lambda r, f: models.discriminator_loss(r, f, smoothing), [(4,), (4,)])
    gradcheck(models.generator_loss, [(4,)])


def _copy_to_torch(nabla_module, torch_module):
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in nabla_module.state_dict().items()}
    torch_module.load_state_dict(state, strict=True)


def test_vae_loss_and_gradients_match_a_torch_twin():
    """The whole VAE (784-400-20): same weights and the same eps give the same loss and gradients."""
    m = _build("vae")
    x = nabla.rand(6, 1, 28, 28)
    eps = nabla.randn(6, 20)
    loss, logs = m.loss(x, eps=eps)
    loss.backward()
    tenc = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 400), torch.nn.ReLU(), torch.nn.Linear(400, 40))
    tdec = torch.nn.Sequential(torch.nn.Linear(20, 400), torch.nn.ReLU(), torch.nn.Linear(400, 784))
    _copy_to_torch(m.encoder, tenc)
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in m.decoder.state_dict().items()}
    tdec.load_state_dict(state)
    tx = torch.from_numpy(x.numpy())
    h = tenc(tx)
    mu, lv = h[:, :20], h[:, 20:]
    z = mu + torch.exp(0.5 * lv) * torch.from_numpy(eps.numpy())
    logits = tdec(z).reshape(6, 1, 28, 28)
    rec = TF.binary_cross_entropy_with_logits(logits, tx, reduction="sum") / 6
    kl = -0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp()) / 6  # PyTorch's VAE example
    tloss = rec + kl
    tloss.backward()
    assert float(loss.item()) == pytest.approx(tloss.item(), rel=1e-5)
    assert logs["elbo"] == pytest.approx(-tloss.item(), rel=1e-5)
    for (name, p), tp in zip(m.encoder.named_parameters(), tenc.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-3, atol=1e-5, err_msg=name)
    for (name, p), tp in zip(m.decoder.named_parameters(), tdec.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-3, atol=1e-5, err_msg=name)


def test_mlp_gan_losses_and_gradients_match_a_torch_twin():
    m = _build("gan")
    x = nabla.rand(8, 1, 28, 28)
    z = nabla.randn(8, m.latent_size)
    d_loss, g_loss, _ = m.losses(x, None, z)
    tg = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.LeakyReLU(0.2), torch.nn.Linear(256, 512),
                             torch.nn.LeakyReLU(0.2), torch.nn.Linear(512, 784), torch.nn.Tanh())
    td = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.LeakyReLU(0.2), torch.nn.Linear(512, 256),
                             torch.nn.LeakyReLU(0.2), torch.nn.Linear(256, 1))
    tg.load_state_dict({k.replace("net.", ""): torch.from_numpy(v.numpy().copy())
                        for k, v in m.generator.state_dict().items()})
    td.load_state_dict({k.replace("net.", ""): torch.from_numpy(v.numpy().copy())
                        for k, v in m.discriminator.state_dict().items()})
    tx = torch.from_numpy(x.numpy()).flatten(1) * 2 - 1
    fake = tg(torch.from_numpy(z.numpy()))
    td_loss = (TF.binary_cross_entropy_with_logits(td(tx), torch.ones(8, 1))
               + TF.binary_cross_entropy_with_logits(td(fake.detach()), torch.zeros(8, 1)))
    tg_loss = TF.binary_cross_entropy_with_logits(td(fake), torch.ones(8, 1))
    assert float(d_loss.item()) == pytest.approx(td_loss.item(), rel=1e-5)
    assert float(g_loss.item()) == pytest.approx(tg_loss.item(), rel=1e-5)
    g_loss.backward()
    tg_loss.backward()
    for p, tp in zip(m.generator.parameters(), tg.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("fc", [0, 16])
def test_dcgan_losses_and_gradients_match_a_torch_twin(fc):
    """DCGAN (bare, and with the fc layers of the default) in training mode, BatchNorm batch statistics included:
    the same weights, images and noise give PyTorch's losses and gradients in both networks."""
    m = _build("dcgan", (1, 8, 8), width=4, latent_size=6, fc=fc)
    assert len(list(m.generator.parameters())) == 10 + 4 * bool(fc)  # Linear+BN per dense layer, ConvT(+BN) x 2
    L, c = torch.nn, 4
    g_head = [L.Linear(6, fc), L.BatchNorm1d(fc), L.ReLU()] if fc else []
    tg = L.Sequential(*g_head, L.Linear(fc or 6, 2 * c * 4), L.BatchNorm1d(2 * c * 4), L.ReLU(),
                      L.Unflatten(1, (8, 2, 2)), L.ConvTranspose2d(8, c, 4, 2, 1), L.BatchNorm2d(c), L.ReLU(),
                      L.ConvTranspose2d(c, 1, 4, 2, 1), L.Tanh())
    d_tail = [L.BatchNorm1d(fc), L.LeakyReLU(0.2), L.Linear(fc, 1)] if fc else []
    td = L.Sequential(L.Conv2d(1, c, 4, 2, 1), L.LeakyReLU(0.2), L.Conv2d(c, 2 * c, 4, 2, 1), L.BatchNorm2d(2 * c),
                      L.LeakyReLU(0.2), L.Flatten(), L.Linear(2 * c * 4, fc or 1), *d_tail)
    _copy_to_torch(m.generator.net, tg)
    _copy_to_torch(m.discriminator.net, td)
    x = nabla.rand(8, 1, 8, 8)
    z = nabla.randn(8, 6)
    d_loss, g_loss, _ = m.losses(x, None, z)
    fake = tg(torch.from_numpy(z.numpy()))
    td_loss = (TF.binary_cross_entropy_with_logits(td(torch.from_numpy(x.numpy()) * 2 - 1), torch.ones(8, 1))
               + TF.binary_cross_entropy_with_logits(td(fake.detach()), torch.zeros(8, 1)))
    tg_loss = TF.binary_cross_entropy_with_logits(td(fake), torch.ones(8, 1))
    assert float(d_loss.item()) == pytest.approx(td_loss.item(), rel=1e-5)
    assert float(g_loss.item()) == pytest.approx(tg_loss.item(), rel=1e-5)
    (d_loss + g_loss).backward()
    (td_loss + tg_loss).backward()
    for net, twin in ((m.generator.net, tg), (m.discriminator.net, td)):
        # a bias right before a BatchNorm has a zero gradient in exact arithmetic: both sides hold rounding noise,
        # so the absolute tolerance follows the network's largest gradient
        atol = 1e-4 * max(float(tp.grad.abs().max()) for tp in twin.parameters())
        for (name, p), tp in zip(net.named_parameters(), twin.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-3, atol=atol, err_msg=name)


def test_importance_weighted_bound_is_tighter_than_the_elbo():
    m = _build("vae")
    x = nabla.tensor((np.random.default_rng(0).random((32, 1, 28, 28)) > 0.7).astype(np.float32))
    with nabla.no_grad():
        elbos = [m.loss(x)[1]["elbo"] for _ in range(10)]
    iw = m.log_likelihood(x, k=64, generator=nabla.Generator(0))
    assert iw.shape == (32,)
    assert float(iw.mean()) > np.mean(elbos)
    one = m.log_likelihood(x, k=1, generator=nabla.Generator(1))  # k = 1 is an ELBO draw
    assert abs(float(one.mean()) - np.mean(elbos)) < 3 * np.std(elbos) + 1.0


# ------------------------------------------------------------------------------------------ training


def _fit(model, x, y, epochs, batch=32, lr=1e-3, callbacks=()):
    data = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True)
    trainer = Trainer(model, _optimizer(model, lr), None)
    h = trainer.fit(data, epochs=epochs, verbose=0, callbacks=list(callbacks))
    return trainer, h


@pytest.mark.parametrize("name", ["ae", "vae"])
def test_short_training_lowers_the_loss(name, tmp_path):
    x, y = _digits(512)
    m = _build(name, (1, 8, 8), hidden=(64,))
    trainer, h = _fit(m, x, y, epochs=4, callbacks=[grid := ImageGrid(tmp_path, nabla.tensor(x[:16]))])
    assert h["loss"][-1] < 0.85 * h["loss"][0]
    assert [p.name for p in grid.paths] == [f"samples_epoch{i:03d}.png" for i in range(1, 5)]
    logs = trainer.evaluate(DataLoader(TensorDataset(x[:64], y[:64]), batch_size=32))
    assert ("elbo" if name == "vae" else "mse") in logs


def test_denoising_autoencoder_learns_to_denoise():
    x, y = _digits(1024)
    m = _build("dae", (1, 8, 8), hidden=(128,), code_size=32, noise_level=0.3)
    xt = nabla.tensor(x[:256])
    before = autoencoder_psnr(m, xt)
    _fit(m, x, y, epochs=15, lr=3e-3)
    after = autoencoder_psnr(m, xt)
    assert after["noisy_psnr"] == pytest.approx(before["noisy_psnr"])  # the same seeded noise
    assert after["denoised_psnr"] > after["noisy_psnr"] + 1.0 > before["denoised_psnr"] + 1.0


def test_gan_training_moves_samples_towards_the_data():
    """After a short run the mean generated digit correlates with the mean real digit (it starts near grey)."""
    x, y = _digits(1024)
    m = _build("gan", (1, 8, 8), hidden=(64, 128), latent_size=16)

    def corr():
        s = m.sample(256, seed=0).numpy().mean(0).ravel()
        return float(np.corrcoef(s, x.mean(0).ravel())[0, 1])
    start = corr()
    _, h = _fit(m, x, y, epochs=6, batch=32, lr=1e-3)
    assert corr() > max(0.8, start + 0.2)
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(h.history)


class _Interrupt(Callback):
    def __init__(self, at):
        self.at, self.seen = at, 0

    def on_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.at:
            raise KeyboardInterrupt


@pytest.mark.parametrize("name", ["dcgan", "vae"])
def test_resume_mid_epoch_is_bit_identical_with_every_optimizer(name, tmp_path):
    x, y = _digits(192)
    kw = {"width": 8, "latent_size": 8, "fc": 16} if name == "dcgan" else {"hidden": (32,)}

    def run(callbacks, seed=0):
        nabla.manual_seed(seed)
        m = _build(name, (1, 8, 8), **kw)
        trainer, h = _fit(m, x, y, epochs=2, batch=32, callbacks=callbacks)
        return trainer, h

    ref, ref_h = run([])
    with pytest.raises(KeyboardInterrupt):
        run([BackupAndRestore(tmp_path / "ck", save_freq=4), _Interrupt(9)])  # dies in epoch 2, saved at batch 8
    resumed, h = run([b := BackupAndRestore(tmp_path / "ck", save_freq=4)], seed=123)
    assert b.resumed_from == (1, 2)
    for k, v in ref.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[k].numpy(), v.numpy(), err_msg=k)
    opts = ref.optimizer if isinstance(ref.optimizer, dict) else {"": ref.optimizer}
    ropts = resumed.optimizer if isinstance(resumed.optimizer, dict) else {"": resumed.optimizer}
    assert set(opts) == set(ropts) == ({"generator", "discriminator"} if name == "dcgan" else {""})
    for key in opts:
        for i, st in opts[key].state_dict()["state"].items():
            for field, v in st.items():
                np.testing.assert_array_equal(np.asarray(ropts[key].state_dict()["state"][i][field]), np.asarray(v))
    assert h.history == ref_h.history  # the per-epoch logs (loss, d_loss, elbo, ...) too


# ------------------------------------------------------------------------------------------ sampling


@pytest.mark.parametrize("name", NAMES)
def test_sampling_is_deterministic_under_a_seed(name):
    m = _build(name, (1, 8, 8))
    state = nabla.get_rng_state()
    a, b, c = m.sample(8, seed=7), m.sample(8, seed=7), m.sample(8, seed=8)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), c.numpy())
    assert nabla.get_rng_state() == state  # a seeded draw leaves the global stream alone
    assert m.training  # and the mode as it was


def test_conditional_sampling_takes_labels():
    m = _build("cgan", (1, 8, 8))
    a = m.sample(4, seed=0, labels=[3, 3, 3, 3])
    np.testing.assert_array_equal(a.numpy(), m.sample(4, seed=0, labels=3).numpy())
    assert not np.array_equal(a.numpy(), m.sample(4, seed=0, labels=[5, 5, 5, 5]).numpy())
    with pytest.raises(ValueError, match="labels"):
        m.sample(4, labels=[0, 1])
    with pytest.raises(ValueError, match="0..9"):
        m.sample(2, labels=[0, 10])
    with pytest.raises(ValueError, match="unconditional"):
        _build("dcgan", (1, 8, 8)).sample(2, labels=[1, 2])
    with pytest.raises(ValueError, match="positive int"):
        m.sample(0)


def test_vae_example_runs_and_reports_nats(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root / "src"), OPENBLAS_NUM_THREADS="1")
    r = subprocess.run([sys.executable, str(root / "examples" / "vae_mnist.py"), "--data-dir", str(tmp_path),
                        "--epochs", "2", "--k", "10", "--out", str(tmp_path)], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "negative ELBO" in r.stdout and "nats" in r.stdout
    assert (tmp_path / "vae_samples.png").exists() and (tmp_path / "vae_reconstructions.png").exists()
