"""BERT: a bidirectional Transformer encoder pre-trained by masked-language modelling (Devlin et al., 2019).

* :class:`BertModel` - token + segment (token type) + position embeddings, LayerNorm and dropout, then
  ``nn.TransformerEncoder`` of post-LN GELU layers (BERT's block, GELU in the tanh approximation as
  the original code; names are nabla's/PyTorch's: ``encoder.layers.0.self_attn.in_proj_weight``, ...),
  and the pooler (dense + tanh on ``[CLS]``).
* :class:`BertForMaskedLM` - the pre-training head: dense + GELU + LayerNorm, then scores over the
  vocabulary with the word-embedding matrix (tied) and its own bias.
* :class:`BertForSequenceClassification` - dropout + a linear classifier on the pooled ``[CLS]``.
* :func:`mask_tokens` - BERT's corruption: 15% of the (non-special) tokens become prediction targets;
  of those, 80% are replaced by ``[MASK]``, 10% by a random token and 10% left unchanged.

``attention_mask`` follows the Hugging Face convention: 1 for real tokens, 0 for padding (padding
keys are ignored by every query). Fine-tune from pre-trained weights with
``clf.bert.load_state_dict(mlm.bert.state_dict())``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy

from .. import backend, functional as F, nn
from ..autograd import no_grad
from ..creation import tensor
from ..tensor import Tensor
from .registry import register_model


@dataclass
class BertConfig:
    """Sizes of a BERT (defaults: a small model for CPU experiments; BERT-base is 768 / 12 / 12 / 3072)."""

    vocab_size: int = 1000
    hidden_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    intermediate_size: int = 512
    max_position_embeddings: int = 128
    type_vocab_size: int = 2
    hidden_dropout_prob: float = 0.1
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                     "max_position_embeddings", "type_vocab_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"BertConfig: {name} must be a positive int, got {v!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"BertConfig: hidden_size ({self.hidden_size}) must be divisible by num_attention_heads "
                             f"({self.num_attention_heads})")
        if not 0.0 <= self.hidden_dropout_prob < 1.0:
            raise ValueError(f"BertConfig: hidden_dropout_prob must lie in [0, 1), got {self.hidden_dropout_prob}")


def gelu_tanh(x: Tensor) -> Tensor:
    """GELU in the tanh approximation, as the original BERT code computes it."""
    return F.gelu(x, approximate="tanh")


def _init_bert_weights(module: nn.Module) -> None:
    """BERT's initialisation: N(0, 0.02) matrices and embeddings, zero biases, LayerNorm (1, 0)."""
    for m in module.modules():
        if isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
            continue
        for name, p in m._parameters.items():
            if p is None:
                continue
            if p.ndim >= 2:
                nn.init.normal_(p, 0.0, 0.02)
            elif "bias" in name:
                nn.init.zeros_(p)
        if isinstance(m, nn.Embedding) and m.padding_idx is not None:
            with no_grad():
                m.weight[m.padding_idx] = 0.0


class BertEmbeddings(nn.Module):
    """``LayerNorm(word + position + token_type embeddings)``, then dropout."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.max_len = config.max_position_embeddings

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None) -> Tensor:
        t = input_ids.shape[1]
        if t > self.max_len:
            raise ValueError(f"sequence length {t} exceeds max_position_embeddings={self.max_len}; truncate the "
                             "input or build the model with a larger max_position_embeddings")
        # Positions 0..t-1 are a slice of the table, and without token_type_ids every token has type 0:
        # the same values and gradients as looking them up, without an index check (a host sync on a GPU).
        if token_type_ids is None:
            types = self.token_type_embeddings.weight[0]
        elif tuple(token_type_ids.shape) != tuple(input_ids.shape):
            raise ValueError(
                f"token_type_ids {token_type_ids.shape} must have the shape of input_ids {input_ids.shape}")
        else:
            types = self.token_type_embeddings(token_type_ids)
        x = self.word_embeddings(input_ids) + self.position_embeddings.weight[:t] + types
        return self.dropout(self.LayerNorm(x))


class BertModel(nn.Module):
    """The encoder: ``forward(input_ids, token_type_ids=None, attention_mask=None)`` ->
    ``(sequence_output (N, T, H), pooled_output (N, H))``; ``pooled = tanh(dense(sequence[:, 0]))``."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        layer = nn.TransformerEncoderLayer(
            config.hidden_size, config.num_attention_heads, config.intermediate_size, config.hidden_dropout_prob,
            activation=gelu_tanh, layer_norm_eps=config.layer_norm_eps, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, config.num_hidden_layers)
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size)
        _init_bert_weights(self)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None,
                attention_mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if not isinstance(input_ids, Tensor) or input_ids.dtype.kind not in "iu" or input_ids.ndim != 2:
            got = f"{input_ids.dtype} tensor of shape {input_ids.shape}" if isinstance(input_ids, Tensor) else \
                type(input_ids).__name__
            raise TypeError(f"expected input_ids as an int64 Tensor (N, T), got {got}")
        padding = None
        if attention_mask is not None:
            if tuple(attention_mask.shape) != tuple(input_ids.shape):
                raise ValueError(f"attention_mask {attention_mask.shape} must have the shape of input_ids "
                                 f"{input_ids.shape} (1 = token, 0 = padding)")
            padding = attention_mask == 0
        x = self.encoder(self.embeddings(input_ids, token_type_ids), src_key_padding_mask=padding)
        return x, self.pooler(x[:, 0]).tanh()


class BertLMHead(nn.Module):
    """Masked-LM scores: ``LayerNorm(gelu(dense(h))) @ word_embeddings.T + bias`` (decoder weight tied)."""

    def __init__(self, config: BertConfig, word_embeddings: nn.Parameter) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.decoder.weight = word_embeddings

    def forward(self, hidden: Tensor) -> Tensor:
        return self.decoder(self.LayerNorm(gelu_tanh(self.dense(hidden))))


class BertForMaskedLM(nn.Module):
    """BERT with the masked-LM head: logits (N, T, vocab_size); train with :func:`mlm_loss`."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.bert = BertModel(config)
        self.cls = BertLMHead(config, self.bert.embeddings.word_embeddings.weight)
        _init_bert_weights(self.cls)
        nn.init.zeros_(self.cls.decoder.bias)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None,
                attention_mask: Tensor | None = None) -> Tensor:
        return self.cls(self.bert(input_ids, token_type_ids, attention_mask)[0])


class BertForSequenceClassification(nn.Module):
    """BERT with a classifier on the pooled ``[CLS]`` vector: logits (N, num_labels)."""

    def __init__(self, config: BertConfig, num_labels: int = 2) -> None:
        super().__init__()
        if not isinstance(num_labels, int) or num_labels < 2:
            raise ValueError(f"BertForSequenceClassification: num_labels must be an int >= 2, got {num_labels!r}")
        self.config, self.num_labels = config, num_labels
        self.bert = BertModel(config)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, num_labels)
        _init_bert_weights(self.classifier)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None,
                attention_mask: Tensor | None = None) -> Tensor:
        return self.classifier(self.dropout(self.bert(input_ids, token_type_ids, attention_mask)[1]))


def mask_tokens(input_ids: Tensor, vocab_size: int, mask_token_id: int, special_ids: Sequence[int] = (),
                mlm_probability: float = 0.15, random_low: int = 0) -> tuple[Tensor, Tensor]:
    """BERT's masked-LM corruption of ``input_ids`` (N, T): returns ``(inputs, labels)``.

    Each token that is not in ``special_ids`` becomes a target with probability ``mlm_probability``;
    ``labels`` holds the original id there and -100 (ignored by the loss) elsewhere. Of the targets,
    80% are replaced by ``mask_token_id``, 10% by a random id drawn from ``[random_low, vocab_size)``
    and 10% kept, so the model cannot rely on seeing ``[MASK]`` and must model every position. Draws
    come from nabla's generator.
    """
    if not 0.0 < mlm_probability < 1.0:
        raise ValueError(f"mask_tokens: mlm_probability must lie in (0, 1), got {mlm_probability}")
    if not 0 <= random_low < vocab_size:
        raise ValueError(f"mask_tokens: random_low must lie in [0, vocab_size={vocab_size}), got {random_low}")
    ids = input_ids.detach().cpu().numpy()
    if ids.dtype.kind not in "iu":
        raise TypeError(f"mask_tokens: input_ids must hold integer ids, got {ids.dtype}")
    gen = backend.default_generator.numpy
    special = numpy.isin(ids, numpy.asarray(list(special_ids), dtype=ids.dtype))
    target = (gen.random(ids.shape) < mlm_probability) & ~special
    labels = numpy.where(target, ids, -100).astype(numpy.int64)
    u = gen.random(ids.shape)
    inputs = ids.astype(numpy.int64, copy=True)
    inputs[target & (u < 0.8)] = mask_token_id
    rand = target & (u >= 0.8) & (u < 0.9)
    inputs[rand] = gen.integers(random_low, vocab_size, int(rand.sum()))
    dev = input_ids.device
    return tensor(inputs, device=dev), tensor(labels, device=dev)


def mlm_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Mean cross-entropy over the target positions (labels != -100) of logits (N, T, V)."""
    return F.sequence_cross_entropy(logits, labels, ignore_index=-100, name="mlm_loss")


@register_model("bert")
def bert(vocab_size: int = 1000, num_classes: int = 2, hidden_size: int = 128, num_hidden_layers: int = 2,
         num_attention_heads: int = 4, intermediate_size: int = 512, max_position_embeddings: int = 128,
         dropout: float = 0.1) -> BertForSequenceClassification:
    """BERT encoder with a [CLS] classification head: token ids (N, T) -> class logits (N, num_classes).

    Pre-train a :class:`BertForMaskedLM` of the same config and copy its ``bert`` weights in to fine-tune.
    """
    config = BertConfig(vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=num_hidden_layers,
                        num_attention_heads=num_attention_heads, intermediate_size=intermediate_size,
                        max_position_embeddings=max_position_embeddings, hidden_dropout_prob=dropout)
    return BertForSequenceClassification(config, num_classes)


__all__ = ["BertConfig", "BertModel", "BertForMaskedLM", "BertForSequenceClassification", "mask_tokens", "mlm_loss",
           "bert"]
