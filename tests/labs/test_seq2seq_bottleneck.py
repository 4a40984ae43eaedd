"""Labs II 9 (quick): reversing digit strings of length 2-8, attention (additive and multiplicative)
beats the fixed-context encoder-decoder on the long half of the lengths in every seed, and the
fixed-context model loses more exact match from short to long strings."""

import json

import numpy

from nabla.labs.runner import run_lab
from nabla.labs.seq2seq_bottleneck import FixedContextSeq2Seq, reverse_batch


def test_reverse_batch_targets_are_reversed_sources():
    src, lengths, tgt_in, tgt = reverse_batch(numpy.random.default_rng(0), numpy.array([3, 5]), 6)
    s = src.numpy()
    assert list(tgt[0, :4]) == [*s[0, :3][::-1], 12] and list(tgt[1, :5]) == list(s[1, :5][::-1])
    assert (s[0, 3:] == 0).all() and (tgt_in.numpy()[:, 0] == 1).all()
    assert (tgt_in.numpy()[:, 1:] == tgt[:, :-1]).all()


def test_fixed_context_decoder_ignores_everything_but_the_final_states():
    model = FixedContextSeq2Seq(13, 13, 8, 16)
    src, lengths, tgt_in, _ = reverse_batch(numpy.random.default_rng(0), numpy.array([4, 7]), 8)
    context, _, _ = model.encode(src, lengths)
    assert context.shape == (2, 1, 32)
    assert model(src, lengths, tgt_in).shape == (2, 9, 13)


def test_seq2seq_bottleneck_quick(tmp_path):
    r = run_lab("seq2seq_bottleneck", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    fixed = r.get("no_attention", "exact_match_long_half").values
    fixed_drop = r.get("no_attention", "drop_short_to_long").values
    for attn in ("additive", "multiplicative"):
        long = r.get(attn, "exact_match_long_half").values
        assert all(a > f + 0.3 for a, f in zip(long, fixed)), (attn, long, fixed)
        drop = r.get(attn, "drop_short_to_long").values
        assert all(d0 > d for d0, d in zip(fixed_drop, drop)), (attn, fixed_drop, drop)
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["seq2seq_bottleneck.png"] and (tmp_path / "seq2seq_bottleneck.png").exists()
