"""A PyTorch tutorial-style CNN on random data, written against PyTorch only (no nabla names).

Run as is with PyTorch, or with ``python -m nabla.compat.torch tutorial_cnn.py`` on nabla; the test
compares the two. Weights and data come from NumPy so both frameworks start from the same numbers.
Usage: tutorial_cnn.py --out result.json [--epochs N]
"""

import argparse
import json
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
parser.add_argument("--epochs", type=int, default=3)
args = parser.parse_args()

torch.manual_seed(0)
torch.backends.cudnn.benchmark = True
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
if torch.cuda.is_available():
    torch.cuda.manual_seed_all(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 8, 3, padding=1, padding_mode="reflect")
        self.norm = nn.GroupNorm(2, 8)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(8 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.norm(self.conv2(x))))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


rng = np.random.default_rng(0)
model = Net().to(device)


def init_weights(m):
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(rng.standard_normal(tuple(m.weight.shape)).astype(np.float32) * 0.3))
            m.bias.zero_()


model.apply(init_weights)
images = torch.from_numpy(rng.standard_normal((32, 1, 8, 8)).astype(np.float32))
labels = torch.from_numpy(rng.integers(0, 4, 32)).long()
loader = DataLoader(TensorDataset(images, labels), batch_size=8, shuffle=False, num_workers=0)
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)

losses = []
for epoch in range(args.epochs):
    model.train()
    running = 0.0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = criterion(model(inputs), targets)
        loss.backward()
        optimizer.step()
        running += loss.item()
        losses.append(loss.item())
    scheduler.step()
    print(f"epoch {epoch}: loss {loss:.4f}, mean {running / len(loader):.4f}")

model.eval()
with torch.inference_mode():
    logits = model(images.to(device))
    top2 = logits.topk(2, dim=1).indices
    correct = (top2 == labels.unsqueeze(1)).any(dim=1).float().mean().item()
    probs = F.softmax(logits, dim=1)
    sample = torch.multinomial(probs, 1).squeeze(1)

with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "model.pt")
    torch.save(model.state_dict(), path)
    clone = Net()
    clone.load_state_dict(torch.load(path))
    with torch.no_grad():
        same = torch.allclose(clone(images), logits)

with open(args.out, "w") as f:
    json.dump({"losses": losses, "top2": correct, "reload_same": bool(same), "sample_shape": list(sample.shape),
               "tensor_module": type(logits).__module__}, f)
