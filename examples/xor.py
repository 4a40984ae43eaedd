"""XOR: why hidden layers matter.

A single-layer perceptron with a step activation draws one straight line, and no line separates
XOR's classes, so it cannot get all four points right. A 2-layer MLP trained with bare autograd and
a hand-written SGD loop learns XOR perfectly. Run: ``python examples/xor.py``.
"""

from __future__ import annotations

import itertools

import nabla

X = nabla.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = nabla.tensor([[0.0], [1.0], [1.0], [0.0]])


def step(z: nabla.Tensor) -> nabla.Tensor:
    """Heaviside step: 1 where z >= 0, else 0."""
    return (z >= 0).float()


def perceptron_best_accuracy() -> float:
    """Train the classic perceptron rule, then also search a grid of weights: the best is 3/4."""
    w, b = nabla.zeros(2), nabla.zeros(1)
    for _ in range(100):  # Rosenblatt's rule: w += lr * (y - y_hat) * x
        for x, y in zip(X, Y):
            err = y - step(x @ w + b)
            w += 0.1 * err * x
            b += 0.1 * err
    trained = (step(X @ w + b).reshape(4, 1) == Y).float().mean().item()
    grid = [v / 4 for v in range(-8, 9)]
    best = max(
        (step(X @ nabla.tensor([w1, w2]) + b0).reshape(4, 1) == Y).float().mean().item()
        for w1, w2, b0 in itertools.product(grid, grid, grid)
    )
    return max(trained, best)


def train_mlp(hidden: int = 4, epochs: int = 2000, lr: float = 0.5, seed: int = 0) -> tuple[float, float]:
    """2-layer MLP (tanh hidden layer, sigmoid output, BCE loss), plain autograd and plain SGD."""
    nabla.manual_seed(seed)
    w1 = (nabla.randn(2, hidden) * 1.0).requires_grad_()
    b1 = nabla.zeros(hidden, requires_grad=True)
    w2 = (nabla.randn(hidden, 1) * 1.0).requires_grad_()
    b2 = nabla.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    for _ in range(epochs):
        p = ((X @ w1 + b1).tanh() @ w2 + b2).sigmoid()
        loss = -(Y * p.clamp(1e-7, 1).log() + (1 - Y) * (1 - p).clamp(1e-7, 1).log()).mean()
        loss.backward()
        with nabla.no_grad():
            for w in params:
                w -= lr * w.grad
                w.grad = None
    with nabla.no_grad():
        p = ((X @ w1 + b1).tanh() @ w2 + b2).sigmoid()
    accuracy = ((p > 0.5).float() == Y).float().mean().item()
    return loss.item(), accuracy


def main() -> None:
    acc = perceptron_best_accuracy()
    print(f"single-layer perceptron (step activation): best accuracy {acc:.0%} -- a line cannot split XOR")
    loss, acc = train_mlp()
    print(f"2-layer MLP (tanh, 4 hidden units), 2000 SGD steps: loss {loss:.4f}, accuracy {acc:.0%}")


if __name__ == "__main__":
    main()
