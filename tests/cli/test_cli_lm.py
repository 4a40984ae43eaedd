"""`nabla train` on text: character language models on tiny-shakespeare, evaluation and generation."""

import json
from pathlib import Path

import pytest

from nabla.cli import main
from nabla.data.datasets import load_dataset, tinyshakespeare

SHAKESPEARE = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "tinyshakespeare"
needs_text = pytest.mark.skipif(not (SHAKESPEARE / "input.txt").exists(),
                                reason="needs ../shared/datasets/tinyshakespeare/input.txt")


@needs_text
def test_tinyshakespeare_split_and_windows():
    train, test = tinyshakespeare(SHAKESPEARE, block_size=100)
    assert train.vocab_size == 65 and len(train) == (1_003_854 - 101) // 100 + 1 and len(test) == 1115
    x, y = train[3]
    assert x.shape == (100,) and (x.numpy()[1:] == y.numpy()[:-1]).all()
    assert train.decode(x)[:10] == train.corpus.text[300:310]
    bx, by = train._batch(__import__("numpy").array([3, 5]))
    assert (bx.numpy()[0] == x.numpy()).all() and by.shape == (2, 100)
    _, _, spec = load_dataset("tinyshakespeare", SHAKESPEARE)
    assert spec.task == "language_model" and spec.num_classes == 65 and spec.input_shape == (128,)
    a, b, _ = load_dataset("tinyshakespeare", SHAKESPEARE, split="test", holdout=200)
    _, whole = tinyshakespeare(SHAKESPEARE)
    assert (len(a), len(b)) == (671, 200) and b.itos == whole.itos
    assert (b[0][0].numpy() == whole[671][0].numpy()).all() and (b[199][1].numpy() == whole[870][1].numpy()).all()


@needs_text
@pytest.mark.parametrize("model, args", [("char_lstm", ["-a", "hidden_size=64", "-a", "num_layers=1"]),
                                         ("gpt", ["-a", "n_layer=1", "-a", "n_embd=32", "-a", "n_head=2"])])
def test_train_language_model_then_evaluate_and_generate(tmp_path, capsys, model, args):
    rc = main(["train", model, "--dataset", "tinyshakespeare", "--data-dir", str(SHAKESPEARE), "--split", "test",
               "--holdout", "200", "--epochs", "2", "--lr", "5e-3", "-q", "--out", str(tmp_path), *args])
    assert rc == 0
    report = json.loads((tmp_path / "metrics.json").read_text())
    losses = report["history"]["loss"]
    assert losses[-1] < 3.4 < 4.17  # ln(65): the loss of a uniform guess
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "checkpoint.safetensors"), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["samples"] == 200 and got["loss"] == pytest.approx(report["test"]["loss"], rel=1e-5)
    assert main(["predict", str(tmp_path / "checkpoint.safetensors"), "ROMEO:", "--length", "40"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("ROMEO:") and len(text.rstrip("\n")) >= 46
    assert main(["predict", str(tmp_path / "checkpoint.safetensors"), "ROMEO€"]) == 2
    assert "unknown characters" in capsys.readouterr().err


def test_train_seq2seq_on_dates_then_evaluate_and_translate(tmp_path, capsys):
    rc = main(["train", "seq2seq", "--dataset", "dates", "--split", "test", "--holdout", "500", "--epochs", "3",
               "-q", "--out", str(tmp_path), "-a", "hidden_size=32"])
    assert rc == 0
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert report["train_samples"] == 1500 and report["test_samples"] == 500
    losses = report["history"]["loss"]
    assert losses[-1] < losses[0] and 0 <= report["test"]["exact_match"] <= 1
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "checkpoint.safetensors"), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["exact_match"] == pytest.approx(report["test"]["exact_match"])
    assert main(["predict", str(tmp_path / "checkpoint.safetensors"), "3 May 1998", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["input"] == "3 May 1998" and len(rows[0]["output"]) <= 10
    assert main(["predict", str(tmp_path / "checkpoint.safetensors"), "3 Mai 1998€"]) == 2
    assert "outside the training vocabulary" in capsys.readouterr().err


def test_dates_dataset_holds_out_its_test_dates():
    from nabla.data.datasets.dates import dates

    train, test = dates(n_train=3000, n_test=300)
    iso = lambda ds: {t for _, t in ds.pairs}  # noqa: E731
    assert not iso(train) & iso(test)
    src, lengths, tgt_in, tgt = (t.numpy() for t in train.tensors)
    assert (tgt_in[:, 0] == 1).all() and (tgt_in[:, 1:] == tgt[:, :-1]).all()
    assert train.src_vocab.decode(src[0][: lengths[0]]) == train.pairs[0][0]


def test_train_bert_on_reviews(tmp_path):
    rc = main(["train", "bert", "--dataset", "reviews", "--epochs", "2", "-q", "--out", str(tmp_path),
               "-a", "num_hidden_layers=1", "-a", "hidden_size=32", "-a", "intermediate_size=64",
               "-a", "num_attention_heads=2", "-a", "dropout=0.0"])
    assert rc == 0
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert report["train_samples"] == 4000 and report["test"]["accuracy"] >= 0.9, report["test"]


def test_reviews_dataset_labels_follow_the_polarity_words():
    from nabla.data.datasets.reviews import MAX_LEN, NEGATIVE, POSITIVE, WORDS, reviews

    train, test = reviews(n_train=200, n_test=50, seed=3)
    ids, segs, mask, y = (t.numpy() for t in train.tensors)
    assert ids.shape == (200, MAX_LEN) and len(test) == 50 and 0.3 < y.mean() < 0.7
    for row, label in zip(ids, y):
        words = {WORDS[i] for i in row}
        assert bool(words & set(POSITIVE)) == bool(label) or bool(words & set(NEGATIVE)) != bool(label)
    assert ((mask == 1) == (ids != 0)).all() and set(segs.ravel()) <= {0, 1}
