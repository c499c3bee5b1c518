#!/usr/bin/env python3
"""The "From PyTorch" story, in PyTorch: a small CNN pretrained on MNIST digits 0-4 and exported to ONNX,
and PyTorch's own run of schedules/from-pytorch.yaml (the reference freezeflow's run is compared with).

  python3 scripts/torch_digits.py pretrain    # writes models/torch-digits/{model.onnx,state.pt,metrics.json}
  python3 scripts/torch_digits.py finetune    # prints {"final_val_acc": ..} for the schedule's stages

The digits are the repository's own (models/mnist: one byte per pixel, pixel = round(k / 255, 3)).
Fine-tuning mirrors freezeflow's semantics: the last top-level module (fc) replaced by a new Linear head,
frozen modules' BatchNorm in inference mode, Adam with eps 1e-7 (tfjs'), batch 64, 20 % held out.
"""
import gzip
import json
import os
import sys

import torch
from torch import nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "models", "torch-digits")


def digits(ids):
    d = os.path.join(ROOT, "models", "mnist")
    counts = json.load(open(os.path.join(d, "index.json")))["counts"]
    raw = torch.frombuffer(bytearray(gzip.decompress(open(os.path.join(d, "digits.u8.gz"), "rb").read())), dtype=torch.uint8)
    lut = torch.tensor([round(k / 255, 3) for k in range(256)], dtype=torch.float32)
    xs, ys = [], []
    for c, digit in enumerate(ids):
        start = sum(counts[:digit]) * 784
        xs.append(lut[raw[start : start + counts[digit] * 784].long()].view(-1, 1, 28, 28))
        ys.append(torch.full((counts[digit],), c, dtype=torch.long))
    return torch.cat(xs), torch.cat(ys)


def split(x, y, seed, val=0.2):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(y), generator=g)
    n_val = int(round(len(y) * val))
    return (x[idx[n_val:]], y[idx[n_val:]]), (x[idx[:n_val]], y[idx[:n_val]])


class TinyNet(nn.Module):
    def __init__(self, classes=5):
        super().__init__()
        block = lambda i, o: [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]
        self.features = nn.Sequential(
            *block(1, 16), nn.MaxPool2d(2), *block(16, 32), nn.MaxPool2d(2), *block(32, 64)
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def one_epoch(model, opt, xt, yt, batch=64):
    perm = torch.randperm(len(yt))
    for i in range(0, len(yt), batch):
        b = perm[i : i + batch]
        opt.zero_grad()
        nn.functional.cross_entropy(model(xt[b]), yt[b]).backward()
        opt.step()


def pretrain():
    torch.manual_seed(7)
    x, y = digits([0, 1, 2, 3, 4])
    (xt, yt), (xv, yv) = split(x, y, 7)
    model = TinyNet()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for epoch in range(3):
        model.train()
        one_epoch(model, opt, xt, yt)
        print(f"pretrain epoch {epoch + 1}: val_acc {accuracy(model, xv, yv):.4f}", file=sys.stderr)
    model.eval()
    os.makedirs(OUT, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(OUT, "state.pt"))
    # PRESERVE on an eval-mode model keeps BatchNormalization nodes and the parameter names
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), os.path.join(OUT, "model.onnx"), opset_version=13,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
                      input_names=["input"], output_names=["logits"])
    json.dump({"data": "builtin:mnist-0-4", "val_acc": accuracy(model, xv, yv), "torch": torch.__version__},
              open(os.path.join(OUT, "metrics.json"), "w"), indent=2)


# schedules/from-pytorch.yaml, stage by stage: (epochs, trainable module prefixes, lr)
STAGES = [(3, [], 1e-3), (3, ["features.8", "features.9"], 3e-4), (2, ["features"], 1e-4)]


def finetune(seed=42):
    torch.manual_seed(seed)
    x, y = digits([5, 6, 7, 8, 9])
    (xt, yt), (xv, yv) = split(x, y, seed)
    model = TinyNet()
    model.load_state_dict(torch.load(os.path.join(OUT, "state.pt")))
    model.fc = nn.Linear(64, 5)  # the schedule's new head
    trainable = {"fc"}
    for epochs, unfreeze, lr in STAGES:
        trainable |= set(unfreeze)
        on = lambda name: any(name == p or name.startswith(p + ".") for p in trainable)
        params = [p for n, p in model.named_parameters() if on(n.rsplit(".", 1)[0])]
        for n, p in model.named_parameters():
            p.requires_grad = on(n.rsplit(".", 1)[0])
        opt = torch.optim.Adam(params, lr=lr, eps=1e-7)
        for _ in range(epochs):
            model.train()
            for name, m in model.named_modules():  # frozen BatchNorm runs in inference mode
                if isinstance(m, nn.BatchNorm2d) and not on(name):
                    m.eval()
            one_epoch(model, opt, xt, yt)
    print(json.dumps({"final_val_acc": accuracy(model, xv, yv), "train": len(yt), "val": len(yv)}))


if __name__ == "__main__":
    torch.set_num_threads(2)
    {"pretrain": pretrain, "finetune": finetune}[sys.argv[1] if len(sys.argv) > 1 else "finetune"]()
