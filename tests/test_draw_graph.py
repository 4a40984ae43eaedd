"""nabla.viz.draw_graph: the autograd graph of a real model's loss as SVG / PNG through Graphviz."""

import shutil

import numpy as np
import pytest

graphviz = pytest.importorskip("graphviz")
if shutil.which("dot") is None:
    pytest.skip("Graphviz's dot program is not installed (apt-get install graphviz)", allow_module_level=True)

import nabla  # noqa: E402
from nabla import models, nn  # noqa: E402
from nabla.viz import draw_graph  # noqa: E402


def test_mlp_loss_graph_svg_names_ops_shapes_leaves_and_backward_edges(tmp_path):
    nabla.manual_seed(0)
    model = models.mlp(in_features=8, hidden=(5,), num_classes=3)
    x = nabla.tensor(np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32))
    loss = nn.functional.cross_entropy(model(x), nabla.tensor(np.array([0, 1, 2, 0])))
    out = draw_graph(loss, tmp_path / "g.svg", names=dict(model.named_parameters()))
    svg = (tmp_path / "g.svg").read_text()
    assert out == str(tmp_path / "g.svg") and svg.lstrip().startswith("<?xml") and "<svg" in svg
    for text in ("Linear", "Relu", "CrossEntropy", "requires_grad", "output"):
        assert text in svg, text
    for name, p in model.named_parameters():  # every parameter is a named leaf with its shape
        assert name in svg and "(" + ", ".join(map(str, p.shape)) + ")" in svg
    assert "(4, 5)" in svg  # the hidden activation's shape, kept by the graph
    assert svg.count('stroke="#c0392b"') >= 5  # backward edges drawn
    plain = draw_graph(loss, tmp_path / "f.svg", backward_edges=False)
    assert 'stroke="#c0392b"' not in (tmp_path / "f.svg").read_text() and plain.endswith("f.svg")


def test_png_and_bad_input(tmp_path):
    w = nabla.randn(3, 3, requires_grad=True)
    y = (w.tanh() @ w).sum()
    draw_graph(y, tmp_path / "g.png")
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="requires_grad=False"):
        draw_graph(y.detach(), tmp_path / "x.svg")
    with pytest.raises(ValueError, match="must end in one of .svg, .png, .pdf"):
        draw_graph(y, tmp_path / "x.jpg")
    with pytest.raises(TypeError, match="expected a nabla Tensor"):
        draw_graph(np.ones(3), tmp_path / "x.svg")
