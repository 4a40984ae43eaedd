"""Trains a small MLP with dropout, shuffling, Adam and a StepLR schedule, checkpointing every few
batches with BackupAndRestore; run by test_checkpoint.py, which SIGKILLs it mid-epoch and resumes.

usage: resume_script.py CHECKPOINT OUT [--progress FILE] [--delay SECONDS]
"""

import argparse
import time

import numpy as np

import nabla
from nabla import nn, optim
from nabla.data import DataLoader, TensorDataset
from nabla.train import BackupAndRestore, Callback, LearningRateScheduler, Trainer


class Progress(Callback):
    """Writes the global step after each batch (so the test knows where to kill) and slows down."""

    def __init__(self, path, delay):
        self.path, self.delay, self.steps = path, delay, 0

    def on_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.path:
            with open(self.path, "w") as f:
                f.write(f"{self.trainer._epoch} {batch} {self.steps}")
        time.sleep(self.delay)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--progress", default="")
    ap.add_argument("--delay", type=float, default=0.0)
    args = ap.parse_args()

    nabla.manual_seed(0)
    r = np.random.default_rng(1)
    x = r.normal(size=(480, 20)).astype(np.float32)
    y = (x[:, :3].sum(1) > 0).astype(np.int64) + (x[:, 3] > 1).astype(np.int64)
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    trainer = Trainer(model, opt, nn.CrossEntropyLoss(), metrics=["accuracy"])
    trainer.fit(loader, epochs=6, verbose=0, callbacks=[
        Progress(args.progress, args.delay), LearningRateScheduler(sched),
        BackupAndRestore(args.checkpoint, save_freq=7)])
    nabla.save({"model": model.state_dict(), "history": trainer.history.history}, args.out)


if __name__ == "__main__":
    main()
