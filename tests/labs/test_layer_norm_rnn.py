"""Labs II 8 (quick): in a step-by-step LSTM on variable-length sequences with batches of 8, layer
norm on the gate pre-activations reaches a higher test accuracy than per-time-step batch norm and than
no normalisation in every seed; batch norm's standing against no normalisation is reported."""

import json

import numpy

from nabla.labs.layer_norm_rnn import NormLSTM, make_batch
from nabla.labs.runner import run_lab


def test_batches_have_odd_variable_lengths_and_padding():
    x, lengths, y = make_batch(numpy.random.default_rng(0), 64, 15)
    assert (lengths % 2 == 1).all() and lengths.min() >= 5 and lengths.max() <= 15 and len(set(lengths)) > 3
    xs = x.numpy()
    for i, n in enumerate(lengths):
        assert (xs[i, n:] == 0).all() and (xs[i, :n, 1] == 1).all()
        assert y.numpy()[i] == int(numpy.sign(xs[i, :n, 0]).sum() > 0)


def test_padding_does_not_change_a_sequence_without_batch_norm():
    x, lengths, _ = make_batch(numpy.random.default_rng(1), 4, 15)
    for norm in ("none", "layer_norm"):
        model = NormLSTM(2, 8, norm, 15)
        full = model(x, lengths).detach().numpy()
        n = int(lengths[0])
        alone = model(x[:1, :n], lengths[:1]).detach().numpy()
        numpy.testing.assert_allclose(full[:1], alone, atol=1e-5)


def test_layer_norm_rnn_quick(tmp_path):
    r = run_lab("layer_norm_rnn", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    ln = r.get("layer_norm", "test_accuracy").values
    bn = r.get("batch_norm", "test_accuracy").values
    none = r.get("none", "test_accuracy").values
    assert all(a > b for a, b in zip(ln, bn)), (ln, bn)
    assert all(a > b for a, b in zip(ln, none)), (ln, none)
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["layer_norm_rnn.png"] and (tmp_path / "layer_norm_rnn.png").exists()
