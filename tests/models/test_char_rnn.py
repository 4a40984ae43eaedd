"""Character-level RNN language models: zoo entries, truncated BPTT, sampling, and learning on tiny-shakespeare."""

from pathlib import Path

import numpy as np
import pytest

import nabla
from nabla.models import get_model, list_models
from nabla.models.rnn import CharRNN, detach_state, evaluate_lm, fit_tbptt, sample, stream_batches

SHAKESPEARE = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "tinyshakespeare" / "input.txt"


def test_zoo_has_the_char_models():
    for name, cell in (("char_rnn", nabla.nn.RNN), ("char_lstm", nabla.nn.LSTM), ("char_gru", nabla.nn.GRU)):
        assert name in list_models()
        m = get_model(name, vocab_size=11, hidden_size=16, num_layers=1, embed_dim=4)
        assert isinstance(m, CharRNN) and isinstance(m.rnn, cell)
        logits, _state = m(nabla.tensor(np.zeros((2, 5), np.int64)), return_state=True)
        assert logits.shape == (2, 5, 11)


def test_stream_batches_continue_each_row():
    data = np.arange(101)
    chunks = list(stream_batches(data, batch_size=4, seq_len=10))
    x0, y0 = chunks[0]
    x1, _ = chunks[1]
    assert x0.shape == (4, 10)
    np.testing.assert_array_equal(y0.numpy(), x0.numpy() + 1)
    np.testing.assert_array_equal(x1.numpy()[:, 0], x0.numpy()[:, -1] + 1)  # row b goes on where it stopped


def test_detached_state_stops_gradients_but_keeps_values():
    m = CharRNN(vocab_size=7, embed_dim=3, hidden_size=5, num_layers=1, cell="lstm")
    x = nabla.tensor(np.ones((2, 4), np.int64))
    _, state = m(x, return_state=True)
    cut = detach_state(state)
    assert all(not s.requires_grad for s in cut)
    np.testing.assert_array_equal(cut[0].numpy(), state[0].detach().numpy())
    m(x, cut).sum().backward()  # the second chunk backpropagates into the weights only
    assert m.rnn.weight_hh_l0.grad is not None


def test_sampling_temperature_and_top_k():
    logits = nabla.tensor(np.log(np.array([[0.7, 0.2, 0.1]] * 4000)))
    assert set(sample(logits, 0).tolist()) == {0}
    assert set(sample(logits, 1.0, top_k=1).tolist()) == {0}
    freq = np.bincount(sample(logits, 1.0).numpy(), minlength=3) / 4000
    np.testing.assert_allclose(freq, [0.7, 0.2, 0.1], atol=0.03)
    hot = np.bincount(sample(logits, 3.0).numpy(), minlength=3) / 4000  # flatter at high temperature
    assert hot[0] < 0.55 and hot[2] > 0.2
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        CharRNN(5).generate(nabla.tensor([[1]]), 3, temperature=-1)


def test_generate_continues_the_prompt_and_is_seeded():
    m = CharRNN(vocab_size=9, embed_dim=4, hidden_size=8, num_layers=2, cell="gru")
    prompt = nabla.tensor([[1, 2, 3]])
    nabla.manual_seed(3)
    a = m.generate(prompt, 10, temperature=1.0)
    nabla.manual_seed(3)
    b = m.generate(prompt, 10, temperature=1.0)
    assert a.shape == (1, 13) and a.tolist() == b.tolist() and a.tolist()[0][:3] == [1, 2, 3]
    # one step at a time with the carried state = the whole sequence at once
    full = m(a[:, :-1])
    step_logits, state = m(a[:, :1], return_state=True)
    for t in range(1, 12):
        step_logits, state = m(a[:, t:t + 1], state, return_state=True)
    np.testing.assert_allclose(step_logits.detach().numpy()[:, -1], full.detach().numpy()[:, -1], rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not SHAKESPEARE.is_file(), reason="tiny-shakespeare not found in ../shared/datasets")
def test_char_lstm_loss_falls_on_tiny_shakespeare():
    corpus = nabla.data.datasets.text_corpus(SHAKESPEARE)
    data = corpus.data[:30_000]
    nabla.manual_seed(0)
    model = get_model("char_lstm", vocab_size=corpus.vocab_size, embed_dim=16, hidden_size=64, num_layers=1)
    before = evaluate_lm(model, data[-4000:], batch_size=8, seq_len=100)
    opt = nabla.optim.Adam(model.parameters(), lr=1e-2)
    losses = fit_tbptt(model, data[:-4000], opt, batch_size=16, seq_len=32, max_steps=60, clip=1.0)
    after = evaluate_lm(model, data[-4000:], batch_size=8, seq_len=100)
    assert before > 4.0 and np.mean(losses[-10:]) < 2.9 and after < 2.9, (before, losses[-10:], after)
