"""Labs II 12 (quick): after the same skip-gram training, a misspelled word (1 or 2 random edits) or an
unseen plural is nearest to its original word far more often with FastText-style subword vectors than
with a plain word table (whose [UNK] vector can only hit one word, 1/64), in every seed; training
raises the subword table's hits on edited words over its untrained state."""

import json

import numpy

from nabla.labs.runner import run_lab
from nabla.labs.subword_embeddings import WORDS, edit


def test_edits_are_new_strings_that_keep_the_first_letter():
    rng = numpy.random.default_rng(0)
    for k in (1, 2):
        for w in WORDS:
            e = edit(w, k, rng)
            assert e != w and e not in WORDS and e[0] == w[0]


def test_subword_embeddings_quick(tmp_path):
    r = run_lab("subword_embeddings", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    for k in ("edit_1", "edit_2", "plural"):
        sub = r.get("subword", f"nearest_is_word_{k}").values
        plain = r.get("plain", f"nearest_is_word_{k}").values
        assert all(s > p + 0.5 for s, p in zip(sub, plain)), (k, sub, plain)
        assert all(p <= 1 / len(WORDS) + 1e-9 for p in plain)
    for k in ("edit_1", "edit_2"):
        sub = r.get("subword", f"nearest_is_word_{k}").values
        untrained = r.get("subword_untrained", f"nearest_is_word_{k}").values
        assert all(s > u for s, u in zip(sub, untrained)), (k, sub, untrained)
    assert r.verdict.value == "supported"
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["subword_embeddings.png"] and (tmp_path / "subword_embeddings.png").exists()
