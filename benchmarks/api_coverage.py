"""How much of PyTorch's public API nabla has: writes docs/pytorch-coverage.md.

    .venv/bin/python benchmarks/api_coverage.py            # regenerate docs/pytorch-coverage.md
    .venv/bin/python benchmarks/api_coverage.py --out FILE

For six namespaces (``torch.*`` functions, ``torch.Tensor`` methods and attributes, ``torch.nn``
modules, ``torch.nn.functional``, ``torch.optim``, ``torch.utils.data``) every public PyTorch name is
looked up at the same path in nabla (``nabla``, ``nabla.Tensor``, ``nabla.nn``, ``nabla.nn.functional``,
``nabla.optim``, ``nabla.utils.data``) and classed as

* **present**: nabla has it, and every parameter PyTorch names is accepted (or the signatures cannot
  be compared: a C builtin, or nabla takes ``**kwargs``);
* **differs**: nabla has it but lacks some of PyTorch's parameters (listed; deprecated ones such as
  ``size_average``/``reduce`` and ``out=``/``layout=``/``pin_memory=``/``memory_format=`` are ignored);
* **missing**: nabla does not have it;
* **not planned**: missing and outside what nabla means to do (sparse, quantized, complex, named
  tensors, TorchScript/compile, storages, other device back ends; see ``NOT_PLANNED``).

A second table counts only the names used by the official tutorials and pytorch/examples
(``TUTORIAL_USES``, hand-collected from the files in ``TUTORIAL_SOURCES``): the issue's bar is 90% of
those Tensor methods and nn modules.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as TF

import nabla
import nabla.nn.functional as NF
import nabla.utils.data as NDATA

ROOT = Path(__file__).resolve().parents[1]

# Parameters not counted as differences: deprecated or about memory layout / preallocated outputs.
IGNORED_PARAMS = {"size_average", "reduce", "out", "layout", "pin_memory", "memory_format", "self", "foreach",
                  "fused", "capturable", "differentiable", "non_blocking", "_stacklevel", "names"}

NOT_PLANNED = [
    (r"sparse|to_dense|coalesce|^indices$|_indices_copy$|crow_|col_indices|ccol|row_indices|_csr|_csc|_bsr|_bsc"
     r"|^values$|smm|sspaddmm|hspmm|saddmm|spmm", "sparse tensors"),
    (r"quantiz|^q_|qscheme|int_repr|dequantize|fake_quant|^quantized|qint|quint|fbgemm|_per_channel|_per_tensor",
     "quantization"),
    (r"complex|^real$|^imag$|conj|^angle$|polar|resolve_neg|resolve_conj|is_neg$|^fft|stft|istft|view_as_real",
     "complex numbers and FFT"),
    (r"^names$|^name$|rename|refine_names|align_to|align_as", "named tensors"),
    (r"storage|data_ptr|_nested|nested|is_pinned|pin_memory|share_memory|is_shared|set_$|record_stream|untyped",
     "storages, pinned/shared memory, nested tensors"),
    (r"^jit|script|^compile|trace|vmap|^func$|^export|_assert|sym_|^cond$|while_loop|^library|^ops$|^classes$",
     "TorchScript, torch.compile, functorch transforms"),
    (r"mkldnn|vulkan|xpu|mps|ipu|hpu|xla|mtia|miopen|cudnn_|_cudnn|^cuda_|backward_|_backward$|^native_|^batch_norm_"
     r"|rnn_relu_cell|rnn_tanh_cell|lstm_cell|gru_cell|quantized_|fbgemm|^is_vulkan", "other back ends and kernels"),
    (r"bfloat16|float8|uint16|uint32|uint64|bits|^chalf|^cfloat|^cdouble", "dtypes NumPy lacks"),
]

TUTORIAL_SOURCES = [
    "pytorch/tutorials beginner_source/basics/{quickstart,tensorqs,autogradqs,buildmodel,optimization,data,"
    "saveloadrun}_tutorial.py",
    "pytorch/tutorials beginner_source/blitz/{tensor,autograd,neural_networks,cifar10}_tutorial.py",
    "pytorch/tutorials beginner_source/nn_tutorial.py, dcgan_faces_tutorial.py, transformer_tutorial.py",
    "pytorch/tutorials intermediate_source/{char_rnn_classification,seq2seq_translation}_tutorial.py",
    "pytorch/examples mnist/main.py, vae/main.py, dcgan/main.py, word_language_model/{model,main}.py",
]

TUTORIAL_USES = {
    "Tensor": """shape dtype device to matmul mul sum item add_ numpy T requires_grad_ unsqueeze exp log mean float
        argmax zero_ grad backward view size fill_ detach cpu max min new_zeros masked_fill transpose contiguous
        squeeze clone copy_ numel eq long tolist pow permute reshape data sub_ mul_ topk narrow dim expand cuda
        uniform_ normal_ clamp softmax log_softmax index_select gather chunk split flatten abs requires_grad
        is_leaf grad_fn add sub div sqrt norm t type_as float ne argmax any all int bool double half std var
        repeat unbind masked_fill_ view_as expand_as is_cuda ndim""",
    "nn": """Module Linear ReLU Sequential Flatten Conv2d MaxPool2d CrossEntropyLoss Dropout Embedding LSTM GRU RNN
        Transformer TransformerEncoder TransformerEncoderLayer LayerNorm BatchNorm2d ConvTranspose2d LeakyReLU
        Sigmoid Tanh BCELoss MSELoss NLLLoss LogSoftmax Softmax ModuleList ModuleDict Identity AdaptiveAvgPool2d
        BatchNorm1d Dropout2d MultiheadAttention GELU Upsample AvgPool2d KLDivLoss L1Loss SmoothL1Loss
        BCEWithLogitsLoss PixelShuffle GroupNorm InstanceNorm2d ReflectionPad2d Softplus ELU Conv1d""",
    "torch": """tensor from_numpy ones_like rand_like rand ones zeros cat stack matmul mul randn arange exp sin cos
        no_grad manual_seed device argmax max min sum mean zeros_like full save load tril triu multinomial topk
        softmax log_softmax sigmoid tanh relu where linspace sqrt log cumsum flatten equal allclose abs clamp
        empty eye randint randperm set_grad_enabled is_tensor numel chunk split transpose squeeze unsqueeze""",
    "functional": """relu log_softmax softmax cross_entropy nll_loss dropout max_pool2d binary_cross_entropy
        mse_loss linear conv2d avg_pool2d sigmoid tanh gelu pad interpolate one_hot kl_div embedding layer_norm
        binary_cross_entropy_with_logits smooth_l1_loss leaky_relu scaled_dot_product_attention""",
    "optim": "SGD Adam AdamW Adadelta RMSprop Adagrad LBFGS lr_scheduler",
    "data": "DataLoader Dataset TensorDataset random_split Subset RandomSampler SequentialSampler",
}


# ------------------------------------------------------------------------------------ namespaces


def _public(names: list[str]) -> list[str]:
    return sorted({n for n in names if not n.startswith("_")})


def torch_functions() -> list[str]:
    out = []
    for n in getattr(torch, "__all__", dir(torch)):
        obj = getattr(torch, n, None)
        if obj is None or inspect.isclass(obj) or inspect.ismodule(obj) or isinstance(obj, torch.dtype):
            continue
        if callable(obj):
            out.append(n)
    return _public(out)


def tensor_methods() -> list[str]:
    return _public(dir(torch.Tensor))


def nn_modules() -> list[str]:
    return _public([n for n in dir(torch.nn) if inspect.isclass(getattr(torch.nn, n))
                    and issubclass(getattr(torch.nn, n), torch.nn.Module)])


def functional_names() -> list[str]:
    return _public([n for n in dir(TF) if inspect.isfunction(getattr(TF, n)) or
                    (callable(getattr(TF, n)) and not inspect.isclass(getattr(TF, n))
                     and not inspect.ismodule(getattr(TF, n)) and getattr(getattr(TF, n), "__module__", "")
                     and "torch" in getattr(getattr(TF, n), "__module__", ""))])


def optim_names() -> list[str]:
    names = [n for n in dir(torch.optim) if inspect.isclass(getattr(torch.optim, n))
             and issubclass(getattr(torch.optim, n), torch.optim.Optimizer)]
    names += [f"lr_scheduler.{n}" for n in dir(torch.optim.lr_scheduler)
              if inspect.isclass(getattr(torch.optim.lr_scheduler, n)) and n.endswith(("LR", "Plateau"))
              and not n.startswith("_")]
    return _public(names)


def data_names() -> list[str]:
    import torch.utils.data as D

    return _public(list(getattr(D, "__all__", dir(D))))


NAMESPACES: list[tuple[str, str, Callable[[], list[str]], Any, Any]] = [
    ("torch", "torch.* functions", torch_functions, torch, nabla),
    ("Tensor", "torch.Tensor methods and attributes", tensor_methods, torch.Tensor, nabla.Tensor),
    ("nn", "torch.nn modules", nn_modules, torch.nn, nabla.nn),
    ("functional", "torch.nn.functional", functional_names, TF, NF),
    ("optim", "torch.optim optimizers and schedulers", optim_names, torch.optim, nabla.optim),
    ("data", "torch.utils.data", data_names, torch.utils.data, NDATA),
]


def _get(ns: Any, dotted: str) -> Any:
    obj = ns
    for part in dotted.split("."):
        obj = inspect.getattr_static(obj, part) if inspect.isclass(obj) else getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _lookup(ns: Any, name: str) -> Any:
    try:
        return _get(ns, name)
    except AttributeError:
        return None


def _params(obj: Any) -> set[str] | None:
    """Parameter names, or None when not comparable (builtins, **kwargs, properties)."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property) or obj is None:
        return None
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        return None
    return {p.name for p in sig.parameters.values() if p.kind not in (inspect.Parameter.VAR_POSITIONAL,)}


def _not_planned(name: str) -> str | None:
    leaf = name.split(".")[-1]
    for pattern, reason in NOT_PLANNED:
        if re.search(pattern, leaf):
            return reason
    return None


def classify(key: str, names: list[str], tns: Any, nns: Any) -> dict[str, Any]:
    present, differs, missing, not_planned = [], [], [], {}
    for name in names:
        n_obj = _lookup(nns, name)
        if n_obj is None:
            reason = _not_planned(name)
            if reason:
                not_planned.setdefault(reason, []).append(name)
            else:
                missing.append(name)
            continue
        t_params, n_params = _params(_lookup(tns, name)), _params(n_obj)
        if t_params is not None and n_params is not None:
            lacking = sorted((t_params - n_params) - IGNORED_PARAMS)
            if lacking:
                differs.append((name, lacking))
                continue
        present.append(name)
    return {"present": present, "differs": differs, "missing": missing, "not_planned": not_planned}


# ----------------------------------------------------------------------------------------- report


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f}%" if b else "-"


def render(results: dict[str, dict], tutorial: dict[str, dict]) -> str:
    lines = [
        "# PyTorch API coverage",
        "",
        f"nabla {nabla.__version__} against PyTorch {torch.__version__}. Generated by "
        "`.venv/bin/python benchmarks/api_coverage.py` (do not edit by hand); the method is in that file's "
        "docstring. *Present* counts names nabla has with every PyTorch parameter accepted; *differs* names "
        "nabla has but without some parameters (listed below); *not planned* are outside nabla's scope.",
        "",
        "| namespace | PyTorch names | present | differs | missing | not planned | nabla has |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, title, *_ in NAMESPACES:
        r = results[key]
        n_np = sum(len(v) for v in r["not_planned"].values())
        total = len(r["present"]) + len(r["differs"]) + len(r["missing"]) + n_np
        has = len(r["present"]) + len(r["differs"])
        lines.append(f"| {title} | {total} | {len(r['present'])} | {len(r['differs'])} | {len(r['missing'])} | "
                     f"{n_np} | {_pct(has, total - n_np)} of the planned |")
    lines += ["", "To run an unmodified PyTorch script on nabla (``import torch`` gives nabla): "
              "`python -m nabla.compat.torch script.py [args]` (see `nabla/compat/torch.py`); "
              "tests/compat/test_compat_torch.py runs a tutorial-style CNN both ways and compares the losses."]
    lines += ["", "## What the tutorials use", "",
              "Names used by the official PyTorch tutorials and pytorch/examples (hand-collected; sources: "
              + "; ".join(TUTORIAL_SOURCES) + ").", "",
              "| namespace | used | nabla has | coverage | missing |", "|---|---:|---:|---:|---|"]
    for key, title, *_ in NAMESPACES:
        t = tutorial[key]
        has = len(t["present"]) + len(t["differs"])
        total = has + len(t["missing"]) + sum(len(v) for v in t["not_planned"].values())
        miss = ", ".join(f"`{m}`" for m in t["missing"]) or "-"
        lines.append(f"| {title} | {total} | {has} | {_pct(has, total)} | {miss} |")
    lines += ["", "## Will not do", "",
              "nabla is NumPy/CuPy arrays with reverse-mode autograd; these PyTorch areas are out of scope:", ""]
    reasons: dict[str, list[str]] = {}
    for key, *_ in NAMESPACES:
        for reason, names in results[key]["not_planned"].items():
            reasons.setdefault(reason, []).extend(f"{key}.{n}" for n in names)
    for reason, names in reasons.items():
        lines.append(f"- **{reason}** ({len(names)} names), e.g. {', '.join(f'`{n}`' for n in names[:8])}")
    for key, title, *_ in NAMESPACES:
        r = results[key]
        lines += ["", f"## {title}", ""]
        if r["differs"]:
            lines += ["Differs in signature (nabla lacks these parameters):", ""]
            lines += [f"- `{name}`: {', '.join(f'`{p}`' for p in lacking)}" for name, lacking in r["differs"]]
            lines.append("")
        lines.append(f"Missing ({len(r['missing'])}): " + (", ".join(f"`{m}`" for m in r["missing"]) or "none"))
        lines += ["", f"Present ({len(r['present'])}): " + ", ".join(f"`{m}`" for m in r["present"])]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "pytorch-coverage.md")
    args = parser.parse_args(argv)
    results, tutorial = {}, {}
    for key, _title, names_fn, tns, nns in NAMESPACES:
        results[key] = classify(key, names_fn(), tns, nns)
        tutorial[key] = classify(key, sorted(set(TUTORIAL_USES[key].split())), tns, nns)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(results, tutorial))
    for key, title, *_ in NAMESPACES:
        r, t = results[key], tutorial[key]
        n_np = sum(len(v) for v in r["not_planned"].values())
        has = len(r["present"]) + len(r["differs"])
        t_has = len(t["present"]) + len(t["differs"])
        t_total = t_has + len(t["missing"]) + sum(len(v) for v in t["not_planned"].values())
        print(f"{title:40s} has {has:4d} / {has + len(r['missing']):4d} planned (+{n_np} not planned); "
              f"tutorials {t_has}/{t_total}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
