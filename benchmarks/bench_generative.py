"""Generative models on MNIST's 8,000 / 2,000 split: quality against PyTorch and against real images, and speed.

Sections (``python benchmarks/bench_generative.py SECTION [--seeds 0 1 2]``; each writes
``benchmarks/generative/<section>.json`` and ``all`` runs them in turn):

* ``vae`` — the VAE of PyTorch's example (784-400-20, Bernoulli decoder, Adam 1e-3, batch 128, 10 epochs)
  trained by nabla (``nabla.train.Trainer``, as ``nabla train vae`` does) and by PyTorch with the same recipe
  and its own initialisation; held-out negative ELBO (one draw of z per image, nats per image) and the
  importance-weighted log-likelihood with k = 200 samples. Target: nabla within 5% of PyTorch.
* ``gan`` — a LeNet-5 digit classifier trained by nabla on the 8,000 images (10 epochs, the mnist recipe) scores
  2,000 samples of ``dcgan`` (5 epochs, its defaults) and of ``cgan``: Inception Score ``exp(E_x KL(p(y|x) ||
  p(y)))`` with the classifier's softmax, and the Fréchet distance between Gaussians fitted to its 84-d
  penultimate features of the samples and of the 2,000 held-out images. The real held-out images' IS is the
  ceiling; the FID of 2,000 *training* images against them is the floor. Target: IS >= 0.8x real.
* ``dae`` — denoising autoencoders (``dae``, 10 epochs) trained and tested at several Gaussian noise levels
  and masking rates: PSNR of the corrupted held-out images and of their reconstructions.
* ``speed`` — one DCGAN training step (D step then G step, batch 64) in nabla and in PyTorch with the same
  architecture and weights: median of interleaved timed steps after warm-up; one BLAS thread / torch thread.
  Target: <= 1.2x PyTorch.
* ``figures`` — the pictures of docs/generative.md (into docs/generative/).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402

import nabla  # noqa: E402
from nabla import models  # noqa: E402
from nabla.data import DataLoader, TensorDataset  # noqa: E402
from nabla.train import Trainer, save_image_grid  # noqa: E402
from nabla.train.recipes import MODEL_RECIPES  # noqa: E402

MNIST = ROOT.parent / "shared" / "datasets" / "mnist"
OUT = HERE / "generative"
FIGS = ROOT / "docs" / "generative"
IWAE_K = 200


def mnist():
    """``(x_train, y_train, x_test, y_test)``: the first 8,000 of MNIST's t10k images and the last 2,000, in [0, 1]."""
    from nabla.data.datasets import load_dataset

    train, test, _ = load_dataset("mnist", MNIST, split="test", holdout=2000)
    f = np.float32
    return (train.images.astype(f) / f(255), train.targets, test.images.astype(f) / f(255), test.targets)


def _save(section: str, result: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{section}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def _summary(values: list[float]) -> dict:
    return {"values": [round(v, 3) for v in values], "median": round(statistics.median(values), 3),
            "mean": round(statistics.fmean(values), 3),
            "std": round(statistics.stdev(values), 3) if len(values) > 1 else 0.0}


def _fit(model, x, y, epochs, batch, lr=None, quiet=True):
    opt = model.configure_optimizers(lr=lr) if hasattr(model, "configure_optimizers") else \
        nabla.optim.Adam(model.parameters(), lr=lr)
    trainer = Trainer(model, opt, None)
    t = time.perf_counter()
    trainer.fit(DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True), epochs=epochs, verbose=0 if quiet
                else 1)
    return trainer, time.perf_counter() - t


# --------------------------------------------------------------------------------------------- VAE


def nabla_vae(seed, data, epochs=10):
    xtr, ytr, xte, yte = data
    nabla.manual_seed(seed)
    m = models.vae()
    _, secs = _fit(m, xtr, ytr, epochs, 128, 1e-3)
    x = nabla.tensor(xte)
    m.eval()
    with nabla.no_grad():
        neg_elbo = float(m.loss(x)[0].item())
    ll = float(m.log_likelihood(x, k=IWAE_K, generator=nabla.Generator(seed)).mean().item())
    return {"neg_elbo": neg_elbo, "iwae_nll": -ll, "seconds": secs}, m


def torch_vae(seed, data, epochs=10):
    import torch
    import torch.nn.functional as TF

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    xtr, _, xte, _ = data

    class VAE(torch.nn.Module):  # PyTorch's examples/vae/main.py
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(784, 400)
            self.fc21, self.fc22 = torch.nn.Linear(400, 20), torch.nn.Linear(400, 20)
            self.fc3, self.fc4 = torch.nn.Linear(20, 400), torch.nn.Linear(400, 784)

        def encode(self, x):
            h = TF.relu(self.fc1(x))
            return self.fc21(h), self.fc22(h)

        def decode_logits(self, z):
            return self.fc4(TF.relu(self.fc3(z)))

    def loss_fn(m, x):
        mu, lv = m.encode(x)
        z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
        rec = TF.binary_cross_entropy_with_logits(m.decode_logits(z), x, reduction="sum")
        kl = -0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp())
        return (rec + kl) / len(x)

    m = VAE()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    X = torch.from_numpy(xtr.reshape(len(xtr), 784))
    g = torch.Generator().manual_seed(seed)
    t = time.perf_counter()
    for _ in range(epochs):
        for idx in torch.randperm(len(X), generator=g).split(128):
            opt.zero_grad()
            loss = loss_fn(m, X[idx])
            loss.backward()
            opt.step()
    secs = time.perf_counter() - t
    Xt = torch.from_numpy(xte.reshape(len(xte), 784))
    with torch.no_grad():
        neg_elbo = float(loss_fn(m, Xt))
        lls = []
        for xb in Xt.split(20):
            mu, lv = m.encode(xb)
            eps = torch.randn(IWAE_K, *mu.shape)
            z = mu + torch.exp(0.5 * lv) * eps
            logits = m.decode_logits(z)
            rec = -TF.binary_cross_entropy_with_logits(logits, xb.expand(IWAE_K, *xb.shape), reduction="none").sum(2)
            logw = rec - 0.5 * (z * z).sum(2) + 0.5 * (eps * eps + lv).sum(2)
            lls.append(torch.logsumexp(logw, 0) - math.log(IWAE_K))
        ll = float(torch.cat(lls).mean())
    return {"neg_elbo": neg_elbo, "iwae_nll": -ll, "seconds": secs}


def section_vae(seeds):
    data = mnist()
    rows = {"nabla": [], "torch": []}
    for s in seeds:
        rows["nabla"].append(nabla_vae(s, data)[0])
        rows["torch"].append(torch_vae(s, data))
        print(s, rows["nabla"][-1], rows["torch"][-1], flush=True)
    res = {fw: {k: _summary([r[k] for r in rs]) for k in rs[0]} for fw, rs in rows.items()}
    res["ratio_neg_elbo"] = round(res["nabla"]["neg_elbo"]["median"] / res["torch"]["neg_elbo"]["median"], 4)
    res["ratio_iwae_nll"] = round(res["nabla"]["iwae_nll"]["median"] / res["torch"]["iwae_nll"]["median"], 4)
    res["recipe"] = "784-400-20 Bernoulli VAE, Adam 1e-3, batch 128, 10 epochs on 8,000 MNIST images; held-out 2,000"
    res["iwae_k"] = IWAE_K
    _save("vae", res)


# --------------------------------------------------------------------------------------------- GAN


def train_classifier(data, seed=0):
    """LeNet-5 trained by nabla on the 8,000 images with the mnist recipe (Adam 2e-3, cosine, 10 epochs)."""
    xtr, ytr, xte, yte = data
    nabla.manual_seed(seed)
    clf = models.lenet5()
    opt = nabla.optim.Adam(clf.parameters(), lr=2e-3)
    from nabla.optim.lr_scheduler import CosineAnnealingLR
    from nabla.train import LearningRateScheduler

    trainer = Trainer(clf, opt, nabla.nn.CrossEntropyLoss(), ["accuracy"])
    trainer.fit(DataLoader(TensorDataset(xtr, ytr), batch_size=64, shuffle=True), epochs=10, verbose=0,
                callbacks=[LearningRateScheduler(CosineAnnealingLR(opt, T_max=10))])
    acc = trainer.evaluate(DataLoader(TensorDataset(xte, yte), batch_size=500))["accuracy"]
    clf.eval()
    return clf, acc


def features(clf, x):
    """``(softmax probabilities, 84-d penultimate features)`` of images ``x`` (N, 1, 28, 28) in [0, 1]."""
    probs, feats = [], []
    with nabla.no_grad():
        for i in range(0, len(x), 500):
            h = clf.features(nabla.tensor(x[i:i + 500])).flatten(1)
            f = clf.classifier[:4](h)  # Linear-ReLU-Linear-ReLU: the 84 features before the last layer
            logits = clf.classifier[4](f)
            feats.append(f.numpy())
            probs.append(nabla.softmax(logits, 1).numpy())
    return np.concatenate(probs).astype(np.float64), np.concatenate(feats).astype(np.float64)


def inception_score(p):
    py = p.mean(0, keepdims=True)
    kl = (p * (np.log(p + 1e-12) - np.log(py + 1e-12))).sum(1)
    return float(np.exp(kl.mean()))


def frechet(f1, f2):
    """``|m1 - m2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` of Gaussians fitted to two feature sets. The trace of
    ``(S1 S2)^(1/2)`` is computed as that of the symmetric ``(S1^(1/2) S2 S1^(1/2))^(1/2)`` (same eigenvalues),
    which stays exact when a ReLU feature that never fires makes a covariance singular."""
    m1, m2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)

    def psd_sqrt(s):
        w, v = np.linalg.eigh(s)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    r = psd_sqrt(s1)
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh(r @ s2 @ r), 0, None)).sum()
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_covmean)


def section_gan(seeds, gans=("dcgan", "cgan")):
    """Scores ``gans`` (``--gans``); the entries of the others already in gan.json are kept."""
    data = mnist()
    xtr, ytr, xte, yte = data
    t = time.perf_counter()
    clf, acc = train_classifier(data)
    p_real, f_real = features(clf, xte)
    _, f_train = features(clf, xtr[:2000])
    res = {"classifier": {"model": "lenet5", "held_out_accuracy": round(acc, 4), "seconds": round(time.perf_counter()
                                                                                                   - t, 1)},
           "real": {"inception_score": round(inception_score(p_real), 3),
                    "fid_train_vs_held_out": round(frechet(f_train, f_real), 3)}}
    print(res, flush=True)
    old = json.loads((OUT / "gan.json").read_text()) if (OUT / "gan.json").exists() else {}
    res.update({k: v for k, v in old.items() if k in ("dcgan", "cgan") and k not in gans})
    for name in gans:
        rows = []
        for s in seeds if name == "dcgan" else seeds[:1]:
            nabla.manual_seed(s)
            m = models.build_model(name, (1, 28, 28), 10)
            recipe = MODEL_RECIPES[name]  # what ``nabla train dcgan --dataset mnist`` does
            _, secs = _fit(m, xtr, ytr, recipe.epochs, recipe.batch_size, recipe.lr)
            samples = m.sample(2000, seed=1000 + s).numpy()
            p, f = features(clf, samples)
            row = {"inception_score": inception_score(p), "fid": frechet(f, f_real), "seconds": secs,
                   "load_average_1min": float(Path("/proc/loadavg").read_text().split()[0])}
            if name == "cgan":
                asked = np.arange(2000) % 10
                row["classified_as_asked"] = float((p.argmax(1) == asked).mean())
            rows.append(row)
            print(name, s, row, flush=True)
        res[name] = {k: _summary([r[k] for r in rows]) for k in rows[0]}
        res[name]["is_over_real"] = round(res[name]["inception_score"]["median"] / res["real"]["inception_score"], 3)
        res[name]["is_over_real_per_seed"] = [round(r["inception_score"] / res["real"]["inception_score"], 3)
                                              for r in rows]
        res[name]["recipe"] = {"epochs": recipe.epochs, "batch_size": recipe.batch_size, "lr": recipe.lr,
                               "steps": recipe.epochs * math.ceil(len(xtr) / recipe.batch_size)}
    _save("gan", res)


# --------------------------------------------------------------------------------------------- DAE


def section_dae(seeds):
    from nabla.models.autoencoder import autoencoder_psnr

    xtr, ytr, xte, _ = mnist()
    res = {}
    for noise, levels in (("gaussian", (0.1, 0.2, 0.3, 0.5)), ("mask", (0.25, 0.5))):
        for level in levels:
            rows = []
            for s in seeds[:1]:
                nabla.manual_seed(s)
                m = models.dae(noise=noise, noise_level=level)
                _, secs = _fit(m, xtr, ytr, 10, 128, 1e-3)
                rows.append({**autoencoder_psnr(m, nabla.tensor(xte), seed=s), "seconds": secs})
            key = f"{noise} {level}"
            res[key] = {k: round(statistics.fmean(r[k] for r in rows), 3) for k in rows[0]}
            print(key, res[key], flush=True)
    _save("dae", res)


# --------------------------------------------------------------------------------------------- speed


def torch_dcgan(m):
    """The same DCGAN in PyTorch (with or without the ``fc`` layers), with ``m``'s weights."""
    import torch

    L = torch.nn
    q = 7
    gen = [mod for mod in m.generator.net if type(mod).__name__ == "ConvTranspose2d"]
    c = gen[0].weight.shape[1]  # width
    lin = [mod for mod in m.discriminator.net if type(mod).__name__ == "Linear"]
    fc = lin[0].weight.shape[0] if len(lin) > 1 else 0
    g_head = [L.Linear(m.latent_size, fc), L.BatchNorm1d(fc), L.ReLU()] if fc else []
    G = L.Sequential(*g_head, L.Linear(fc or m.latent_size, 2 * c * q * q), L.BatchNorm1d(2 * c * q * q), L.ReLU(),
                     L.Unflatten(1, (2 * c, q, q)), L.ConvTranspose2d(2 * c, c, 4, 2, 1), L.BatchNorm2d(c), L.ReLU(),
                     L.ConvTranspose2d(c, 1, 4, 2, 1), L.Tanh())
    d_tail = [L.BatchNorm1d(fc), L.LeakyReLU(0.2), L.Linear(fc, 1)] if fc else []
    D = L.Sequential(L.Conv2d(1, c, 4, 2, 1), L.LeakyReLU(0.2), L.Conv2d(c, 2 * c, 4, 2, 1), L.BatchNorm2d(2 * c),
                     L.LeakyReLU(0.2), L.Flatten(), L.Linear(2 * c * q * q, fc or 1), *d_tail)
    G.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m.generator.net.state_dict().items()})
    D.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m.discriminator.net.state_dict().items()})
    return G, D


def _step_times(m, xtr, batch, steps):
    """Interleaved nabla / PyTorch DCGAN training steps (D then G) at ``batch``: median ms, ratio, a loss check."""
    import torch
    import torch.nn.functional as TF

    opts = m.configure_optimizers()
    G, D = torch_dcgan(m)
    tg = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    td = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ones, zeros = torch.ones(batch), torch.zeros(batch)

    # sanity: the same weights, images and noise give the same losses
    x = nabla.tensor(xtr[:batch])
    z = nabla.randn(batch, m.latent_size)
    d_loss, g_loss, _ = m.losses(x, None, z)
    tx = torch.from_numpy(xtr[:batch]) * 2 - 1
    fake = G(torch.from_numpy(z.numpy()))
    tdl = (TF.binary_cross_entropy_with_logits(D(tx).squeeze(1), ones)
           + TF.binary_cross_entropy_with_logits(D(fake.detach()).squeeze(1), zeros))
    sanity = {"nabla_d_loss": float(d_loss.item()), "torch_d_loss": float(tdl), "nabla_g_loss": float(g_loss.item()),
              "torch_g_loss": float(TF.binary_cross_entropy_with_logits(D(fake).squeeze(1), ones))}

    def torch_step(xb):
        fake = G(torch.randn(batch, m.latent_size))
        td.zero_grad()
        dl = (TF.binary_cross_entropy_with_logits(D(xb).squeeze(1), ones)
              + TF.binary_cross_entropy_with_logits(D(fake.detach()).squeeze(1), zeros))
        dl.backward()
        td.step()
        tg.zero_grad()
        gl = TF.binary_cross_entropy_with_logits(D(fake).squeeze(1), ones)
        gl.backward()
        tg.step()

    batches = [(nabla.tensor(xtr[i * batch:(i + 1) * batch]), torch.from_numpy(xtr[i * batch:(i + 1) * batch]) * 2 - 1)
               for i in range(10)]
    nt, tt = [], []
    for i in range(steps + 5):
        nb, tb = batches[i % 10]
        t0 = time.perf_counter()
        m.train_step((nb, None), opts)
        t1 = time.perf_counter()
        torch_step(tb)
        t2 = time.perf_counter()
        if i >= 5:
            nt.append(t1 - t0)
            tt.append(t2 - t1)
    return {"batch": batch, "steps": steps, "nabla_ms": _summary([1000 * v for v in nt]),
            "torch_ms": _summary([1000 * v for v in tt]),
            "ratio_median": round(statistics.median(nt) / statistics.median(tt), 3), "sanity": sanity}


def section_speed(seeds, steps=30):
    """The ``dcgan`` default (with its fc layers) at the recipe's batch and at 64, and the bare DCGAN (fc=0) at 64
    (the network measured before the fc layers were added)."""
    import torch

    torch.set_num_threads(1)
    xtr = mnist()[0]
    res = {"threads": "OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1)",
           "load_average_before": Path("/proc/loadavg").read_text().split()[:3]}
    for key, fc, batch in (("dcgan", 1024, MODEL_RECIPES["dcgan"].batch_size), ("dcgan_b64", 1024, 64),
                           ("bare_dcgan_fc0_b64", 0, 64)):
        nabla.manual_seed(0)
        res[key] = _step_times(models.dcgan(fc=fc), xtr, batch, steps)
        print(key, res[key]["ratio_median"], flush=True)
    res["load_average_after"] = Path("/proc/loadavg").read_text().split()[:3]
    _save("speed", res)


# --------------------------------------------------------------------------------------------- figures


def section_figures(seeds):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    FIGS.mkdir(parents=True, exist_ok=True)
    xtr, ytr, xte, yte = data = mnist()
    x12 = nabla.tensor(xte[:16])
    times = {}

    def timed(key, fn):
        t = time.perf_counter()
        out = fn()
        times[key] = round(time.perf_counter() - t, 1)
        return out

    vae = timed("vae_20d", lambda: nabla_vae(0, data)[1])
    ae = models.ae(code_size=20)
    timed("ae_20d", lambda: _fit(ae, xtr, ytr, 10, 128, 1e-3))
    vae.eval()
    ae.eval()
    with nabla.no_grad():
        rec_vae = vae.decode(vae.encode(x12)[0]).numpy()
        rec_ae = ae(x12).numpy()
    save_image_grid(np.concatenate([xte[:16], rec_ae, rec_vae]), FIGS / "reconstructions.png", nrow=16)
    save_image_grid(np.concatenate([vae.sample(32, seed=0).numpy(), ae.sample(32, seed=0).numpy()]),
                    FIGS / "samples_vae_vs_ae.png", nrow=16)

    # bottleneck size vs reconstructions
    rows, bott = [xte[:16]], {}
    for code in (2, 8, 32, 64):
        nabla.manual_seed(0)
        m = models.ae(code_size=code)
        timed(f"ae_{code}", lambda m=m: _fit(m, xtr, ytr, 10, 128, 1e-3))
        m.eval()
        with nabla.no_grad():
            rows.append(m(x12).numpy())
            bott[code] = float(((m(nabla.tensor(xte)).numpy() - xte) ** 2).mean())
    save_image_grid(np.concatenate(rows), FIGS / "bottleneck.png", nrow=16)

    # 2-D latent spaces: VAE vs AE, coloured by digit; a walk over the VAE's
    nabla.manual_seed(0)
    vae2 = models.vae(latent_size=2)
    timed("vae_2d", lambda: _fit(vae2, xtr, ytr, 10, 128, 1e-3))
    nabla.manual_seed(0)
    ae2 = models.ae(code_size=2)
    timed("ae_2d", lambda: _fit(ae2, xtr, ytr, 10, 128, 1e-3))
    vae2.eval()
    ae2.eval()
    with nabla.no_grad():
        zv = vae2.encode(nabla.tensor(xte))[0].numpy()
        za = ae2.encode(nabla.tensor(xte)).numpy()
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    for ax, z, title in ((axes[0], za, "plain AE (code 2)"), (axes[1], zv, "VAE (latent 2, posterior means)")):
        sc = ax.scatter(z[:, 0], z[:, 1], c=yte, cmap="tab10", s=4)
        ax.set_title(title)
    fig.colorbar(sc, ax=axes, ticks=range(10), label="digit")
    fig.savefig(FIGS / "latent2d.png", dpi=110)
    plt.close(fig)
    from scipy.stats import norm

    grid = norm.ppf(np.linspace(0.05, 0.95, 15))
    zz = np.array([[a, b] for b in grid[::-1] for a in grid], dtype=np.float32)
    with nabla.no_grad():
        walk = vae2.decode(nabla.tensor(zz)).numpy()
    save_image_grid(walk, FIGS / "latent_walk.png", nrow=15)
    # interpolation between held-out digits in the 20-d VAE
    with nabla.no_grad():
        mu = vae.encode(nabla.tensor(xte[:12]))[0].numpy()
        steps = np.linspace(0, 1, 10, dtype=np.float32)
        inter = [vae.decode(nabla.tensor(((1 - t) * mu[2 * i] + t * mu[2 * i + 1])[None])).numpy()
                 for i in range(6) for t in steps]
    save_image_grid(np.concatenate(inter), FIGS / "interpolation.png", nrow=10)

    # denoising before/after
    rows = []
    for level in (0.2, 0.5):
        nabla.manual_seed(0)
        m = models.dae(noise_level=level)
        timed(f"dae_{level}", lambda m=m: _fit(m, xtr, ytr, 10, 128, 1e-3))
        noisy = m._eval_draw(lambda m=m: m.corrupt(x12, nabla.Generator(0)))
        rows += [xte[:16], noisy.numpy(), m.reconstruct(noisy).numpy()]
    save_image_grid(np.concatenate(rows), FIGS / "denoising.png", nrow=16)

    # GAN samples: DCGAN from fixed noise per epoch, the conditional GAN's rows of digits
    nabla.manual_seed(0)
    dc = models.dcgan()
    from nabla.train import ImageGrid

    grids = ImageGrid(FIGS / "dcgan_epochs")
    opt = dc.configure_optimizers()
    t = time.perf_counter()
    Trainer(dc, opt, None).fit(DataLoader(TensorDataset(xtr, ytr), batch_size=64, shuffle=True), epochs=5, verbose=0,
                               callbacks=[grids])
    times["dcgan"] = round(time.perf_counter() - t, 1)
    save_image_grid(dc.sample(64, seed=0).numpy(), FIGS / "samples_dcgan.png")
    nabla.manual_seed(0)
    cg = models.cgan()
    timed("cgan", lambda: _fit(cg, xtr, ytr, 5, 64))
    labels = np.repeat(np.arange(10), 10)
    save_image_grid(cg.sample(100, seed=0, labels=labels).numpy(), FIGS / "samples_cgan.png", nrow=10)
    _save("figures", {"ae_mse_by_code_size": bott, "seconds": times})


SECTIONS = {"vae": section_vae, "gan": section_gan, "dae": section_dae, "speed": section_speed,
            "figures": section_figures}

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("section", choices=[*SECTIONS, "all"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--gans", nargs="+", choices=["dcgan", "cgan"], default=["dcgan", "cgan"],
                    help="the GANs the gan section trains and scores")
    a = ap.parse_args()
    if not MNIST.exists():
        sys.exit(f"needs the MNIST files in {MNIST}")
    for name in SECTIONS if a.section == "all" else [a.section]:
        t0 = time.perf_counter()
        SECTIONS[name](a.seeds, tuple(a.gans)) if name == "gan" else SECTIONS[name](a.seeds)
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
