"""The model zoo: ``nabla.models.get_model("mlp", in_features=784, num_classes=10)``.

Each model file registers its builders with ``register_model`` (``registry.py``), so the zoo grows
without touching the registry; ``nabla models`` lists them. What is here: the perceptron and MLPs
(``mlp.py``); CNNs: LeNet-5, AlexNet, VGG, GoogLeNet, ResNet; recurrent character models
(``rnn.py``) and the attention seq2seq (``seq2seq.py``); Transformers: GPT and BERT; generative
models: autoencoders (``ae``, ``dae``), the VAE and GANs (``gan``, ``dcgan``, ``cgan``).
"""

from .alexnet import AlexNet, alexnet
from .bert import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel, bert
from .googlenet import GoogLeNet, googlenet
from .gpt import GPT, GPTConfig, gpt
from .lenet import LeNet5, lenet5
from .mlp import mlp, perceptron
from .registry import build_model, describe_model, get_model, list_models, register_model
from .resnet import ResNet, resnet18, resnet34, resnet50
from .vgg import VGG, vgg11, vgg11_bn, vgg16, vgg16_bn

__all__ = ["build_model", "describe_model", "get_model", "list_models", "register_model", "mlp", "perceptron"]
__all__ += [
    "LeNet5", "lenet5", "AlexNet", "alexnet", "VGG", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "GoogLeNet", "googlenet",
    "ResNet", "resnet18", "resnet34", "resnet50",
]
from .rnn import CharRNN, char_gru, char_lstm, char_rnn  # noqa: E402

__all__ += ["CharRNN", "char_rnn", "char_lstm", "char_gru"]
__all__ += ["GPT", "GPTConfig", "gpt"]
__all__ += ["BertConfig", "BertModel", "BertForMaskedLM", "BertForSequenceClassification", "bert"]
from .seq2seq import Seq2Seq, seq2seq  # noqa: E402

__all__ += ["Seq2Seq", "seq2seq"]
from .autoencoder import AutoEncoder, ae, dae  # noqa: E402
from .gan import GAN, cgan, dcgan, discriminator_loss, gan, generator_loss  # noqa: E402
from .vae import VAE, bernoulli_elbo, gaussian_kl, reparameterize, vae  # noqa: E402

__all__ += ["AutoEncoder", "ae", "dae", "VAE", "vae", "gaussian_kl", "reparameterize", "bernoulli_elbo"]
__all__ += ["GAN", "gan", "dcgan", "cgan", "generator_loss", "discriminator_loss"]
