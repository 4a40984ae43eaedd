"""nabla.train.metrics against scikit-learn, streaming vs one-shot, reset and error messages.

Precision/recall/F1 match scikit-learn with ``zero_division=0`` (a class never predicted has
precision 0, a class never present has recall 0) and its default label set (classes seen in y_true
or y_pred).
"""

import math

import numpy as np
import pytest
from sklearn import metrics as skm

import nabla
from nabla import train as T

RNG = np.random.default_rng(0)


def _batches(*arrays, sizes=(7, 13, 1, 30, 9)):
    start = 0
    for s in sizes:
        yield tuple(a[start:start + s] for a in arrays)
        start += s
    assert start == len(arrays[0])


def _stream(metric, pred, true, wrap=nabla.tensor):
    for p, t in _batches(pred, true):
        metric.update(wrap(p), wrap(t))
    return metric.result()


N = 60


def _cls_data(c=5, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((N, c)).astype(np.float32)
    y = rng.integers(0, c, N)
    return logits, y


@pytest.mark.parametrize("wrap", [nabla.tensor, np.asarray])
def test_accuracy_from_logits_labels_and_streaming(wrap):
    logits, y = _cls_data()
    want = skm.accuracy_score(y, logits.argmax(1))
    assert T.accuracy(wrap(logits), wrap(y)) == pytest.approx(want)
    assert _stream(T.Accuracy(), logits, y, wrap) == pytest.approx(want)
    assert T.accuracy(wrap(logits.argmax(1)), wrap(y)) == pytest.approx(want)  # from labels
    onehot = np.eye(5)[y]
    assert T.accuracy(wrap(logits), wrap(onehot)) == pytest.approx(want)


def test_accuracy_binary_threshold():
    probs = RNG.random(N).astype(np.float32)
    y = RNG.integers(0, 2, N)
    want = skm.accuracy_score(y, probs > 0.5)
    assert T.accuracy(nabla.tensor(probs), nabla.tensor(y)) == pytest.approx(want)
    assert T.accuracy(nabla.tensor(probs[:, None]), nabla.tensor(y[:, None])) == pytest.approx(want)
    logits = np.log(probs / (1 - probs))
    assert T.accuracy(nabla.tensor(logits), nabla.tensor(y), from_logits=True) == pytest.approx(want)
    assert T.accuracy(probs, y, threshold=0.3) == pytest.approx(skm.accuracy_score(y, probs > 0.3))


def test_accuracy_requires_grad_tensor_no_graph():
    logits, y = _cls_data()
    x = nabla.tensor(logits, requires_grad=True)
    assert T.accuracy(x, nabla.tensor(y)) == pytest.approx(skm.accuracy_score(y, logits.argmax(1)))


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_top_k_accuracy(k):
    logits, y = _cls_data(c=6, seed=k)
    want = skm.top_k_accuracy_score(y, logits, k=k, labels=np.arange(6))
    assert T.top_k_accuracy(nabla.tensor(logits), nabla.tensor(y), k=k) == pytest.approx(want)
    assert _stream(T.TopKAccuracy(k), logits, y) == pytest.approx(want)


@pytest.mark.parametrize("average", ["macro", "micro", "weighted"])
@pytest.mark.parametrize("kind", ["precision", "recall", "f1"])
def test_prf_match_sklearn(kind, average):
    logits, y = _cls_data(c=6, seed=3)
    # class 5 is never predicted, class 4 never present: exercise zero_division=0
    logits[:, 5] = -10.0
    y = np.where(y == 4, 0, y)
    pred = logits.argmax(1)
    sk = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[kind]
    want = sk(y, pred, average=average, zero_division=0)
    fn = {"precision": T.precision, "recall": T.recall, "f1": T.f1_score}[kind]
    assert fn(nabla.tensor(logits), nabla.tensor(y), average=average) == pytest.approx(want)
    assert fn(pred, y, average=average) == pytest.approx(want)
    assert _stream(T.get_metric(kind, average=average), logits, y) == pytest.approx(want)


def test_prf_random_seeds_macro():
    for seed in range(5):
        logits, y = _cls_data(c=4, seed=10 + seed)
        pred = logits.argmax(1)
        for sk, cls in [(skm.precision_score, T.Precision), (skm.recall_score, T.Recall), (skm.f1_score, T.F1Score)]:
            assert _stream(cls(), logits, y) == pytest.approx(sk(y, pred, average="macro", zero_division=0))


def test_confusion_matrix():
    logits, y = _cls_data(c=5, seed=4)
    want = skm.confusion_matrix(y, logits.argmax(1), labels=np.arange(5))
    np.testing.assert_array_equal(T.confusion_matrix(nabla.tensor(logits), nabla.tensor(y), num_classes=5), want)
    np.testing.assert_array_equal(_stream(T.ConfusionMatrix(5), logits, y), want)
    grown = _stream(T.ConfusionMatrix(), logits, y)  # num_classes=None grows with the labels
    np.testing.assert_array_equal(grown, want[: grown.shape[0], : grown.shape[0]])
    with pytest.raises(ValueError, match="out of range for num_classes=3"):
        T.confusion_matrix(logits, y, num_classes=3)


@pytest.mark.parametrize("shape", [(N,), (N, 1), (N, 3)])
def test_regression_metrics(shape):
    p = RNG.standard_normal(shape)
    t = 0.5 * p + RNG.standard_normal(shape) + 3.0
    for ours, cls, sk in [
        (T.mean_absolute_error, T.MeanAbsoluteError, skm.mean_absolute_error),
        (T.mean_squared_error, T.MeanSquaredError, skm.mean_squared_error),
        (T.r2_score, T.R2Score, skm.r2_score),
    ]:
        want = sk(t, p)
        assert ours(nabla.tensor(p), nabla.tensor(t)) == pytest.approx(want, rel=1e-6)
        assert _stream(cls(), p, t) == pytest.approx(want, rel=1e-6)
        assert _stream(cls(), p.astype(np.float32), t.astype(np.float32)) == pytest.approx(want, rel=1e-4)


def test_r2_large_offset_and_constant_target():
    t = RNG.standard_normal(N) + 1e6
    p = t + 0.1 * RNG.standard_normal(N)
    assert _stream(T.R2Score(), p, t, np.asarray) == pytest.approx(skm.r2_score(t, p), rel=1e-6)
    c = np.full(N, 2.0)
    assert T.r2_score(c, c) == skm.r2_score(c, c) == 1.0
    assert T.r2_score(c + 1, c) == skm.r2_score(c, c + 1) == 0.0


def test_reset_and_empty():
    logits, y = _cls_data()
    for m in [T.Accuracy(), T.TopKAccuracy(2), T.Precision(), T.Recall(), T.F1Score(), T.MeanSquaredError(),
              T.MeanAbsoluteError(), T.R2Score()]:
        assert math.isnan(m.result())
        if isinstance(m, (T.MeanSquaredError, T.MeanAbsoluteError, T.R2Score)):
            args = (logits[:, 0], logits[:, 1])
        else:
            args = (logits, y)
        first = m(*args)
        m.update(args[0][:10], args[1][:10])
        m.reset()
        assert math.isnan(m.result())
        assert m(*args) == pytest.approx(first)
    cm = T.ConfusionMatrix(5)
    cm.update(logits, y)
    cm.reset()
    assert cm.result().sum() == 0 and cm.result().shape == (5, 5)


def test_get_metric_registry():
    assert isinstance(T.get_metric("accuracy"), T.Accuracy)
    assert isinstance(T.get_metric("acc"), T.Accuracy)
    top5 = T.get_metric("top5_accuracy")
    assert isinstance(top5, T.TopKAccuracy) and top5.k == 5 and top5.name == "top5_accuracy"
    assert T.get_metric("top_k_accuracy", k=3).k == 3
    assert T.get_metric("top_k_accuracy").k == 5
    for name, cls in [("precision", T.Precision), ("recall", T.Recall), ("f1", T.F1Score), ("mae", T.MeanAbsoluteError),
                      ("mse", T.MeanSquaredError), ("r2", T.R2Score), ("confusion_matrix", T.ConfusionMatrix)]:
        m = T.get_metric(name)
        assert isinstance(m, cls) and m.name == name
    m = T.Accuracy()
    assert T.get_metric(m) is m
    assert isinstance(T.get_metric(T.R2Score), T.R2Score)
    with pytest.raises(ValueError, match="unknown metric 'bogus'.*accuracy.*top<k>_accuracy"):
        T.get_metric("bogus")
    with pytest.raises(TypeError):
        T.get_metric(3)


def test_shape_errors_name_both_shapes():
    with pytest.raises(ValueError, match=r"y_pred \(10, 3\) and y_true \(8,\)"):
        T.accuracy(np.zeros((10, 3)), np.zeros(8, dtype=int))
    with pytest.raises(ValueError, match=r"y_pred \(10, 2\) and y_true \(10, 2, 1\)"):
        T.r2_score(np.zeros((10, 2)), np.zeros((10, 2, 1)))
    with pytest.raises(ValueError, match=r"y_pred \(10, 2\) and y_true \(10, 3\)"):
        T.mean_squared_error(np.zeros((10, 2)), np.zeros((10, 3)))
    with pytest.raises(ValueError, match=r"y_pred \(4, 3\) and y_true \(4, 5\)"):
        T.accuracy(np.zeros((4, 3)), np.eye(5)[:4])
    with pytest.raises(ValueError, match=r"y_pred \(4,\) and y_true \(5,\)"):
        T.top_k_accuracy(np.zeros(4), np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match=r"y_pred \(4, 3\) and y_true \(5,\)"):
        T.top_k_accuracy(np.zeros((4, 3)), np.zeros(5, dtype=int), k=2)
    with pytest.raises(ValueError, match="average must be one of"):
        T.Precision(average="binary")
    with pytest.raises(ValueError, match="k must be a positive int"):
        T.TopKAccuracy(0)
