"""Tokenizers: the built-in character tokenizer and byte-level BPE through `tokenizers` (optional)."""

import numpy as np
import pytest

import nabla
from nabla.data.tokenizers import BPETokenizer, CharTokenizer

TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
        "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. resolved.\n")


def test_char_tokenizer_round_trip_and_vocabulary():
    tok = CharTokenizer.from_text(TEXT, specials=["[PAD]", "[UNK]"], unk_token="[UNK]")
    assert tok.vocab_size == 2 + len(set(TEXT))
    assert tok.token_to_id("[PAD]") == 0 and tok.id_to_token(2) == sorted(set(TEXT))[0]
    ids = tok.encode(TEXT)
    assert len(ids) == len(TEXT) and min(ids) >= 2
    assert tok.decode(ids) == TEXT
    assert tok.decode(nabla.tensor(ids)) == TEXT  # Tensors and arrays decode too
    assert tok.encode("F@") == [tok.token_to_id("F"), 1]  # "@" is unknown: [UNK]
    assert tok.decode([0, tok.token_to_id("a"), 0], skip_special_tokens=True) == "a"


def test_char_tokenizer_errors_and_save_load(tmp_path):
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match="'z' is not in the vocabulary"):
        tok.encode("abz")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([5])
    with pytest.raises(ValueError, match="unk_token"):
        CharTokenizer("ab", specials=["[PAD]"], unk_token="[UNK]")
    tok = CharTokenizer.from_text(TEXT, specials=["<s>"])
    tok.save(tmp_path / "char.json")
    back = CharTokenizer.load(tmp_path / "char.json")
    assert back.itos == tok.itos and back.encode(TEXT) == tok.encode(TEXT)


def test_char_tokenizer_matches_the_corpus_loader():
    from nabla.data.datasets import CharCorpus

    corpus = CharCorpus(TEXT)
    tok = CharTokenizer.from_text(TEXT)
    np.testing.assert_array_equal(corpus.encode(TEXT), tok.encode(TEXT))


# ------------------------------------------------------------------------------------------- BPE

tokenizers = pytest.importorskip("tokenizers", reason="BPE needs the optional `tokenizers` library (extra 'text')")


def corpus_lines():
    words = "the quick brown fox jumps over lazy dogs while cats sleep".split()
    r = np.random.default_rng(0)
    return [" ".join(r.choice(words, 8)) for _ in range(300)]


def test_bpe_learns_frequent_words_as_single_tokens():
    tok = BPETokenizer.train(corpus_lines(), vocab_size=400)
    assert 256 < tok.vocab_size <= 400  # training stops early once no pair occurs min_frequency times
    assert tok.token_to_id("[PAD]") == 0 and tok.token_to_id("[MASK]") == 4  # specials first
    pieces = tok.tokenize("the quick brown fox")
    assert pieces == ["the", "Ġquick", "Ġbrown", "Ġfox"]  # frequent words merged (Ġ marks a space)
    assert len(tok.tokenize("zebra")) > 1  # an unseen word falls apart into smaller pieces


def test_bpe_round_trips_any_text_byte_level(tmp_path):
    tok = BPETokenizer.train(corpus_lines(), vocab_size=400)
    for text in ["the lazy dogs", "Ünïcødé ✓ and émojis 🙂", "tabs\tand\nnewlines  double  spaces"]:
        assert tok.decode(tok.encode(text)) == text
    tok.save(tmp_path / "bpe.json")
    back = BPETokenizer.load(tmp_path / "bpe.json")
    assert back.encode("quick brown") == tok.encode("quick brown")
    with pytest.raises(TypeError, match="string"):
        tok.encode(3)
