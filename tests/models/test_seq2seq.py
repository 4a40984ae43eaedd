"""seq2seq with attention on date normalisation: the generated task, the model's shapes and masks,
learning on a small budget, and (slow) the example reaching >= 95% exact match with a heat-map PNG."""

import datetime
import re
import runpy
from pathlib import Path

import numpy as np
import pytest

import nabla
from nabla.models import get_model
from nabla.models.seq2seq import (
    Seq2Seq,
    batch_tensors,
    date_formats,
    date_vocabs,
    exact_match,
    format_date,
    make_date_pairs,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seq2seq_dates.py"

# strptime patterns, one per input format (ordinal suffixes stripped first; %y read with a 1950 pivot)
PATTERNS = ["%d %B %Y", "%d %b %Y", "%B %d, %Y", "%A, %B %d, %Y", "%a, %d %b %Y", "%m/%d/%y", "%m/%d/%Y",
            "%d.%m.%Y", "%d.%m.%y", "%d of %B %Y", "%B %d, %Y", "%d-%b-%y", "%Y/%m/%d", "%A %d %B %y"]


def parse(text: str, which: int) -> datetime.date:
    d = datetime.datetime.strptime(re.sub(r"(\d)(st|nd|rd|th)", r"\1", text), PATTERNS[which]).date()
    if "%y" in PATTERNS[which]:
        d = d.replace(year=1900 + d.year % 100 if d.year % 100 >= 50 else 2000 + d.year % 100)
    return d


def test_every_format_reads_back_as_the_same_date():
    assert date_formats() == len(PATTERNS)
    rng = np.random.default_rng(0)
    for _ in range(300):
        d = datetime.date(1950, 1, 1) + datetime.timedelta(days=int(rng.integers(36524)))
        for k in range(date_formats()):
            assert parse(format_date(d, k), k) == d, (d, k, format_date(d, k))
    assert format_date(datetime.date(1998, 5, 3), 3) == "Sunday, May 3, 1998"
    assert format_date(datetime.date(1998, 5, 3), 5) == "05/03/98"


def test_pairs_are_iso_targets_and_held_out_dates_are_disjoint():
    train = make_date_pairs(500, seed=0)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", t) for _, t in train)
    seen = {datetime.date.fromisoformat(t) for _, t in train}
    test = make_date_pairs(200, seed=1, exclude=seen)
    assert not seen & {datetime.date.fromisoformat(t) for _, t in test}
    src_vocab, tgt_vocab = date_vocabs()
    src, lengths, tgt_in, tgt = batch_tensors(train[:8], src_vocab, tgt_vocab)
    assert src.shape == (8, int(lengths.max())) and tgt.shape == (8, 10)
    assert tgt_in.numpy()[:, 0].tolist() == [1] * 8 and (tgt_in.numpy()[:, 1:] == tgt.numpy()[:, :-1]).all()
    assert tgt_vocab.decode(tgt.numpy()[0]) == train[0][1]


@pytest.mark.parametrize("attention", ["additive", "multiplicative"])
def test_padding_does_not_change_a_sequence_or_receive_attention(attention):
    src_vocab, tgt_vocab = date_vocabs()
    model = get_model("seq2seq", src_vocab=len(src_vocab), tgt_vocab=len(tgt_vocab), hidden_size=16,
                      attention=attention)
    assert isinstance(model, Seq2Seq)
    alone, la = src_vocab.encode_batch(["5/3/98"])
    both, lb = src_vocab.encode_batch(["5/3/98", "Wednesday, September 23, 1998"])
    ids_a, w_a = model.greedy_decode(alone, la, 10)
    ids_b, w_b = model.greedy_decode(both, lb, 10)
    np.testing.assert_allclose(w_b.numpy()[0, :, :6], w_a.numpy()[0], rtol=1e-4, atol=1e-6)
    assert np.all(w_b.numpy()[0, :, 6:] == 0)  # padded positions get no attention
    assert ids_a.tolist()[0] == ids_b.tolist()[0]


def test_learns_dates_on_a_small_budget():
    src_vocab, tgt_vocab = date_vocabs()
    train = make_date_pairs(3000, seed=0)
    test = make_date_pairs(200, seed=1, exclude={datetime.date.fromisoformat(t) for _, t in train})
    nabla.manual_seed(0)
    model = Seq2Seq(len(src_vocab), len(tgt_vocab), embed_dim=16, hidden_size=32)
    opt = nabla.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(80):
        src, lengths, tgt_in, tgt = batch_tensors([train[i] for i in rng.integers(0, 3000, 32)], src_vocab, tgt_vocab)
        loss = nabla.cross_entropy(model(src, lengths, tgt_in).reshape(-1, len(tgt_vocab)), tgt.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nabla.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss))
    assert losses[0] > 2.0 and np.mean(losses[-5:]) < 0.5, (losses[0], losses[-5:])
    assert exact_match(model, test, src_vocab, tgt_vocab) > 0.2


@pytest.mark.slow
def test_example_reaches_95_percent_and_saves_the_heat_map(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "attention.png"
    mod = runpy.run_path(str(EXAMPLE), run_name="seq2seq_example")
    result = mod["main"](["--steps", "200", "--train-pairs", "5000", "--test-pairs", "500", "--out", str(tmp_path)])
    assert result["exact_match"] >= 0.95, result
    assert result["outputs"]["Sunday, May 3, 1998"] == "1998-05-03"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
