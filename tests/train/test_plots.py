import pytest

from nabla.train import History, plot_history


def test_plot_history_writes_a_png(tmp_path):
    h = History()
    for e in range(3):
        h.append(
            e,
            {
                "loss": 1.0 / (e + 1),
                "accuracy": 0.5 + e / 10,
                "val_loss": 1.2 / (e + 1),
                "val_accuracy": 0.5,
                "lr": 0.1,
            },
        )
    plot_history(h, tmp_path / "c.png", title="t")
    data = (tmp_path / "c.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    with pytest.raises(ValueError, match="no epochs"):
        plot_history(History(), tmp_path / "d.png")
