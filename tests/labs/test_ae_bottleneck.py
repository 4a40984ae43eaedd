"""ae_bottleneck --quick (8x8 digits, codes 2/8/32): a larger code reconstructs held-out digits better in every
seed, the denoising AE beats the plain one on noisy inputs, the verdict follows the numbers, the figure exists."""

from nabla.labs.runner import run_lab


def test_ae_bottleneck_quick(tmp_path):
    r = run_lab("ae_bottleneck", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    mse = [r.get(f"code {k}", "heldout_mse").values for k in (2, 8, 32)]
    for seed in range(3):
        assert mse[0][seed] > mse[1][seed] > mse[2][seed]  # bigger bottleneck, smaller error, every seed
    psnr2, psnr32 = r.get("code 2", "heldout_psnr").mean, r.get("code 32", "heldout_psnr").mean
    assert psnr32 > psnr2 + 3
    noisy = r.get("corrupted input", "psnr_on_noisy_inputs").values
    dae = r.get("denoising AE", "psnr_on_noisy_inputs").values
    assert all(d > n for d, n in zip(dae, noisy))  # the DAE removes noise
    monotone = all(b <= 1.02 * a for s in range(3) for a, b in zip([m[s] for m in mse], [m[s] for m in mse][1:]))
    gap = all(mse[0][s] > 2 * mse[2][s] for s in range(3))
    assert r.verdict.value == ("supported" if monotone and gap else "depends" if gap else "refuted")
    assert (tmp_path / "reconstructions.png").exists() and (tmp_path / "result.json").exists()
