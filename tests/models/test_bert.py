"""BERT: masking statistics, shapes, padding and segments, PyTorch parity of the encoder, quick training."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nabla
from nabla.models import get_model, list_models
from nabla.models.bert import (
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertModel,
    mask_tokens,
    mlm_loss,
)

CFG = dict(vocab_size=30, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
           max_position_embeddings=16)


def config(**kw):
    return BertConfig(**{**CFG, **kw})


def ids(shape, low=4, high=30, seed=0):
    return nabla.tensor(np.random.default_rng(seed).integers(low, high, shape))


# ---------------------------------------------------------------------------------------- masking


def test_masking_statistics_15_percent_then_80_10_10():
    vocab, mask_id, specials = 50, 3, (0, 1, 2, 3)
    r = np.random.default_rng(0)
    x = r.integers(4, vocab, (400, 100))
    x[:, 0], x[:, -1], x[:50, 60:] = 1, 2, 0  # [CLS], [SEP], padding: never targets
    nabla.manual_seed(1)
    inputs, labels = mask_tokens(nabla.tensor(x), vocab, mask_id, special_ids=specials, random_low=4)
    inp, lab = inputs.numpy(), labels.numpy()
    special = np.isin(x, specials)
    target = lab != -100
    assert not (target & special).any()
    np.testing.assert_array_equal(inp[special], x[special])
    np.testing.assert_array_equal(inp[~target], x[~target])  # only targets are corrupted
    np.testing.assert_array_equal(lab[target], x[target])  # labels hold the original ids
    frac = target.sum() / (~special).sum()
    assert abs(frac - 0.15) < 0.006, frac
    n = target.sum()
    masked = (inp[target] == mask_id).sum() / n
    kept = (inp[target] == x[target]).sum() / n
    random = 1 - masked - kept
    # a random replacement equals the original with probability 1/46: it then counts as kept
    assert abs(masked - 0.8) < 0.015 and abs(kept - (0.1 + 0.1 / 46)) < 0.012 and abs(random - 0.1 * 45 / 46) < 0.012
    replaced = target & (inp != mask_id) & (inp != x)
    assert (inp[replaced] >= 4).all() and (inp[replaced] < vocab).all()


def test_masking_is_reproducible_and_validates():
    x = ids((4, 10))
    nabla.manual_seed(3)
    a = mask_tokens(x, 30, 3)
    nabla.manual_seed(3)
    b = mask_tokens(x, 30, 3)
    np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
    with pytest.raises(ValueError, match="mlm_probability"):
        mask_tokens(x, 30, 3, mlm_probability=0.0)
    with pytest.raises(TypeError, match="integer"):
        mask_tokens(nabla.zeros(2, 3), 30, 3)


# ------------------------------------------------------------------------------- shapes and masks


def test_shapes_of_encoder_and_heads():
    x = ids((3, 7))
    seq, pooled = BertModel(config())(x)
    assert seq.shape == (3, 7, 16) and pooled.shape == (3, 16)
    assert np.abs(pooled.detach().numpy()).max() <= 1  # tanh
    mlm = BertForMaskedLM(config())
    assert mlm(x).shape == (3, 7, 30)
    assert mlm.cls.decoder.weight is mlm.bert.embeddings.word_embeddings.weight  # tied
    assert BertForSequenceClassification(config(), num_labels=4)(x).shape == (3, 4)


def test_padding_positions_do_not_affect_real_tokens():
    m = BertModel(config(hidden_dropout_prob=0.0))
    m.eval()
    x = ids((2, 9)).numpy()
    mask = np.ones((2, 9), np.int64)
    mask[0, 6:] = 0
    y = x.copy()
    y[0, 6:] = [5, 6, 7]  # different tokens where the mask says padding
    a = m(nabla.tensor(x), attention_mask=nabla.tensor(mask))[0].detach().numpy()
    b = m(nabla.tensor(y), attention_mask=nabla.tensor(mask))[0].detach().numpy()
    np.testing.assert_allclose(a[0, :6], b[0, :6], atol=1e-6)
    np.testing.assert_allclose(a[1], b[1], atol=1e-6)


def test_segments_change_the_encoding():
    m = BertModel(config(hidden_dropout_prob=0.0))
    x = ids((1, 6))
    seg = nabla.tensor([[0, 0, 0, 1, 1, 1]])
    a, b = m(x)[0].detach().numpy(), m(x, seg)[0].detach().numpy()
    assert np.abs(a - b).max() > 1e-3


def test_bert_model_matches_pytorch_composition():
    """Embeddings + nn.TransformerEncoder (post-LN, tanh-GELU) + pooler in torch, weights copied by key."""
    cfg = config(hidden_dropout_prob=0.0)
    n = BertModel(cfg).double()

    class Embeddings(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.word_embeddings = torch.nn.Embedding(30, 16, padding_idx=0)
            self.position_embeddings = torch.nn.Embedding(16, 16)
            self.token_type_embeddings = torch.nn.Embedding(2, 16)
            self.LayerNorm = torch.nn.LayerNorm(16, eps=1e-12)

    layer = torch.nn.TransformerEncoderLayer(16, 2, 32, 0.0, activation=lambda z: TF.gelu(z, approximate="tanh"),
                                             layer_norm_eps=1e-12, batch_first=True)
    t = torch.nn.ModuleDict(dict(embeddings=Embeddings(),
                                 encoder=torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False),
                                 pooler=torch.nn.Linear(16, 16))).double()
    assert list(n.state_dict()) == list(t.state_dict())
    n.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).integers(0, 30, (2, 8))
    seg = np.random.default_rng(1).integers(0, 2, (2, 8))
    pad = np.zeros((2, 8), bool)
    pad[1, 5:] = True
    e = t["embeddings"]
    te = e.LayerNorm(e.word_embeddings(torch.tensor(x)) + e.position_embeddings(torch.arange(8))
                     + e.token_type_embeddings(torch.tensor(seg)))
    t_seq = t["encoder"](te, src_key_padding_mask=torch.tensor(pad))
    t_pool = torch.tanh(t["pooler"](t_seq[:, 0]))
    n_seq, n_pool = n(nabla.tensor(x), nabla.tensor(seg), nabla.tensor((~pad).astype(np.int64)))
    np.testing.assert_allclose(n_seq.detach().numpy(), t_seq.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(n_pool.detach().numpy(), t_pool.detach().numpy(), atol=1e-10)


def test_init_and_errors():
    m = BertModel(config(vocab_size=500, hidden_size=64, num_attention_heads=4))
    w = m.embeddings.word_embeddings.weight.detach().numpy()
    assert abs(w[1:].std() - 0.02) < 0.002 and (w[0] == 0).all()  # N(0, 0.02), padding row zero
    np.testing.assert_array_equal(m.encoder.layers[0].linear1.bias.detach().numpy(), 0)
    with pytest.raises(ValueError, match="max_position_embeddings=16"):
        BertModel(config())(ids((1, 17)))
    with pytest.raises(ValueError, match="attention_mask"):
        BertModel(config())(ids((2, 5)), attention_mask=nabla.ones(2, 4, dtype=nabla.int64))
    with pytest.raises(TypeError, match="int64"):
        BertModel(config())(nabla.zeros(2, 5))
    with pytest.raises(ValueError, match="divisible"):
        BertConfig(hidden_size=10, num_attention_heads=3)


# ------------------------------------------------------------------------------------ training


def test_quick_mlm_and_finetuning_sanity():
    """MLM loss falls on a tiny repetitive language; the pre-trained encoder loads into a classifier
    that learns a separable task in a few steps."""
    nabla.manual_seed(0)
    cfg = config(hidden_dropout_prob=0.0)
    mlm = BertForMaskedLM(cfg)
    opt = nabla.optim.AdamW(mlm.parameters(), lr=3e-3)
    base = np.array([[1] + [4 + (i % 5) for i in range(10)] + [2]] * 16)  # [CLS] 4 5 6 7 8 4 5 ... [SEP]
    losses = []
    for _ in range(60):
        x, y = mask_tokens(nabla.tensor(base), 30, 3, special_ids=(0, 1, 2, 3), random_low=4)
        loss = mlm_loss(mlm(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    # below log(5) = 1.61 (a guess among the five words) means the context is used
    assert np.mean(losses[:5]) > 2.5 and np.mean(losses[-5:]) < 1.2, (losses[:5], losses[-5:])

    clf = BertForSequenceClassification(cfg, num_labels=2)
    clf.bert.load_state_dict(mlm.bert.state_dict())
    np.testing.assert_array_equal(clf.bert.pooler.weight.detach().numpy(), mlm.bert.pooler.weight.detach().numpy())
    r = np.random.default_rng(0)
    label = r.integers(0, 2, 32)
    x = r.integers(4, 20, (32, 6))
    x[:, 0] = 1
    x[:, 3] = np.where(label == 1, 25, 26)  # the label is written in the sentence
    opt = nabla.optim.AdamW(clf.parameters(), lr=3e-3)
    for _ in range(60):
        loss = nabla.cross_entropy(clf(nabla.tensor(x)), nabla.tensor(label))
        opt.zero_grad()
        loss.backward()
        opt.step()
    acc = (clf(nabla.tensor(x)).argmax(-1).numpy() == label).mean()
    assert acc == 1.0


def test_registered_in_the_zoo():
    assert "bert" in list_models()
    m = get_model("bert", vocab_size=40, num_classes=3, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                  intermediate_size=32)
    assert isinstance(m, BertForSequenceClassification) and m(ids((2, 5), high=40)).shape == (2, 3)


def test_finetune_example_runs_end_to_end_quickly():
    """A smoke run of examples/bert_finetune.py with tiny settings (the full run takes minutes)."""
    import os
    import runpy

    here = os.path.dirname(os.path.abspath(__file__))
    mod = runpy.run_path(os.path.join(here, "..", "..", "examples", "bert_finetune.py"), run_name="bert_example")
    out = mod["main"](["--pretrain-steps", "4", "--pretrain-batch", "4", "--labelled", "8", "--test", "8",
                       "--finetune-epochs", "2", "--hidden", "16", "--heads", "2", "--layers", "1"])
    assert set(out["curves"]) == {"pre-trained", "from scratch"}
    assert all(len(c) == 2 for c in out["curves"].values())
    assert len(out["pretrain_curve"]) == 4 and 0.0 <= out["pretrain_curve"][-1][2] <= 1.0
    review, segments = mod["ToyReviews"](0).review()
    assert review[0] == mod["CLS"] and review[-1] == mod["SEP"] and len(segments) == len(review)
