"""Subword (FastText-style) embeddings: n-grams, hashing, gradients, and misspellings after training."""

import numpy as np
import pytest

import nabla
import nabla.nn.functional as F
from nabla import nn
from nabla.nn.layers.subword import SubwordEmbedding, char_ngrams, fnv1a_32

TOPICS = {
    "animals": "elephant giraffe kangaroo penguin dolphin leopard squirrel tortoise",
    "food": "spaghetti chocolate pineapple sandwich broccoli avocado pancake cucumber",
    "weather": "thunder lightning blizzard rainbow hurricane drizzle sunshine tornado",
    "music": "guitar trumpet violin orchestra saxophone clarinet harmonica symphony",
    "science": "molecule electron gravity telescope chemistry equation particle neutron",
    "travel": "airport passport luggage suitcase journey itinerary souvenir hostel",
}
WORDS = [w for ws in TOPICS.values() for w in ws.split()]
TOPIC_OF = {w: t for t, ws in TOPICS.items() for w in ws.split()}


def test_char_ngrams_as_in_the_fasttext_paper():
    assert char_ngrams("where", 3, 3) == ["<wh", "whe", "her", "ere", "re>"]
    grams = char_ngrams("where", 3, 6)
    assert "<whe" in grams and "where>" in grams and "<where>" not in grams and len(grams) == 5 + 4 + 3 + 2


def test_fnv1a_known_values():
    assert fnv1a_32("") == 0x811C9DC5
    assert fnv1a_32("a") == 0xE40C292C
    assert fnv1a_32("foobar") == 0xBF9CF968


def test_vector_is_the_mean_of_its_rows_and_gradients_reach_only_them():
    emb = SubwordEmbedding(4, num_buckets=50, vocab=["where"]).double()
    out = emb(["where", "wher"])
    w = emb.weight.detach().numpy()
    for i, word in enumerate(["where", "wher"]):
        np.testing.assert_allclose(out.detach().numpy()[i], w[emb.rows(word)].mean(0), atol=1e-15)
    assert emb.rows("where")[0] == 0 and 0 not in emb.rows("wher")  # the word's own row, in vocabulary only
    out[1].sum().backward()
    g = emb.weight.grad.numpy()
    used = sorted(set(emb.rows("wher")))
    assert (g[used] != 0).all()
    assert (np.delete(g, used, axis=0) == 0).all()


def test_batched_words_and_errors():
    emb = SubwordEmbedding(6, num_buckets=100)
    assert emb([["a", "bb", "ccc"], ["dd", "e", "f"]]).shape == (2, 3, 6)
    assert emb(["x"]).shape == (1, 6)  # too short for any 3-gram but "<x>": still a vector
    with pytest.raises(TypeError, match="for one word pass"):
        emb("word")
    with pytest.raises(ValueError, match="one length"):
        emb([["a", "b"], ["c"]])
    with pytest.raises(ValueError, match="min_n"):
        SubwordEmbedding(4, min_n=5, max_n=3)


def misspell(word: str, kind: int) -> str:
    """Swap two different adjacent interior letters (kind 0) or replace one (kind 1)."""
    i = len(word) // 2
    if kind == 0:
        while word[i - 1] == word[i]:
            i += 1
        return word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]
    return word[:i] + ("z" if word[i] != "z" else "q") + word[i + 1:]


def train_skipgram(steps: int = 80, dim: int = 64, seed: int = 0) -> SubwordEmbedding:
    """Skip-gram with negative sampling, as FastText trains: each word's contexts are two collocates
    of its own (so words differ) and three random words of its topic (so topics cluster)."""
    nabla.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n = len(WORDS)
    emb = SubwordEmbedding(dim, num_buckets=20_000, vocab=WORDS)
    ctx = nn.Embedding(n + 2 * n, dim)  # context vectors: the 48 words, then two collocates per word
    nn.init.zeros_(ctx.weight)
    opt = nabla.optim.Adam(list(emb.parameters()) + list(ctx.parameters()), lr=0.02)
    topic_ids = {t: [WORDS.index(w) for w in ws.split()] for t, ws in TOPICS.items()}
    for _ in range(steps):
        centers = rng.integers(0, n, 128)
        same = np.array([rng.choice(topic_ids[TOPIC_OF[WORDS[c]]], 3) for c in centers])
        contexts = np.concatenate([n + 2 * centers[:, None] + np.arange(2), same], axis=1)  # (128, 5)
        negatives = rng.integers(0, 3 * n, (128, 5, 5))
        u = emb([WORDS[c] for c in centers]).unsqueeze(1)                 # (128, 1, dim)
        pos = (u * ctx(nabla.tensor(contexts))).sum(-1)                    # (128, 5)
        neg = (u.unsqueeze(2) * ctx(nabla.tensor(negatives))).sum(-1)      # (128, 5, 5)
        loss = F.softplus(-pos).mean() + F.softplus(neg).sum(-1).mean()  # -log sigmoid(pos) - sum log sigmoid(-neg)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return emb


def unit(a):
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def test_misspelled_words_stay_nearest_to_the_right_word_after_training():
    """After a short skip-gram training that pulls words of a topic together, a misspelling (never
    seen, so built from n-grams alone) is closest to its correct word among all 48 words, although
    the word's topic neighbours now sit close too (cosine ~0.7). Not by construction alone: with the
    random initial table only about a third of the swapped-letter typos are nearest to their word;
    training gives the shared n-grams the word's meaning, while the typo's own n-grams stay small."""
    emb = train_skipgram()
    with nabla.no_grad():
        vocab = unit(emb(WORDS).numpy())
    # training did pull topics together: most words' nearest other word shares their topic
    sims = vocab @ vocab.T
    np.fill_diagonal(sims, -1)
    same_topic = np.mean([TOPIC_OF[WORDS[int(np.argmax(s))]] == TOPIC_OF[w] for w, s in zip(WORDS, sims)])
    assert same_topic >= 0.9, same_topic
    for kind in (0, 1):
        typos = [misspell(w, kind) for w in WORDS]
        assert not set(typos) & set(WORDS)
        with nabla.no_grad():
            t = unit(emb(typos).numpy())
        nearest = np.argmax(t @ vocab.T, axis=1)
        hits = np.mean(nearest == np.arange(len(WORDS)))
        assert hits >= 0.9, (kind, hits, [(a, WORDS[b]) for a, b in zip(typos, nearest) if WORDS[b] != a][:5])
        # and closer to the right word than to that word's topic neighbours, on average by a margin
        right = (t * vocab).sum(-1)
        topic_best = np.array([max(vocab[j] @ t[i] for j, w in enumerate(WORDS) if TOPIC_OF[w] == TOPIC_OF[WORDS[i]]
                                   and j != i) for i in range(len(WORDS))])
        assert np.mean(right - topic_best) > 0.1


def test_a_plain_word_embedding_has_nothing_for_a_misspelling():
    """The contrast: a word-level table maps an unseen spelling to nothing related (here: [UNK])."""
    emb = SubwordEmbedding(16, num_buckets=1000, vocab=WORDS)
    typo = misspell("elephant", 0)
    shared = set(emb.rows(typo)) & set(emb.rows("elephant"))
    assert len(shared) >= 0.25 * len(emb.rows(typo))  # the n-grams away from the typo are shared
    assert typo not in emb.word_index
