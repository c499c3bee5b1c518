"""PyTorch reference for `npm run bench`: the same resnet-mini (stem, layer1..3 BasicBlocks, pool, head),
trained in the same three regimes at batch 64 with 2 threads. Prints one JSON object.

Frozen parts are frozen the PyTorch way: requires_grad=False and BatchNorm in eval mode, so autograd
stops at the first trainable layer (no caching of frozen outputs).
"""
import json
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(2)
torch.manual_seed(0)


def conv_bn(cin, cout, k, s):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, padding=k // 2, bias=False), nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1))


class Block(nn.Module):
    def __init__(self, cin, cout, s):
        super().__init__()
        self.c1 = conv_bn(cin, cout, 3, s)
        self.c2 = conv_bn(cout, cout, 3, 1)
        self.down = conv_bn(cin, cout, 1, s) if (s != 1 or cin != cout) else None

    def forward(self, x):
        y = torch.relu(self.c1(x))
        y = self.c2(y)
        return torch.relu(y + (self.down(x) if self.down is not None else x))


class ResnetMini(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(1, 16, 3, 1), nn.ReLU(), nn.MaxPool2d(2, 2))
        self.layer1 = Block(16, 16, 1)
        self.layer2 = Block(16, 32, 2)
        self.layer3 = Block(32, 64, 2)
        self.head = nn.Linear(64, classes)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def set_regime(m, regime):
    trainable = {"head": ["head"], "partial": ["head", "layer3"], "full": ["head", "layer3", "layer2", "layer1", "stem"]}[regime]
    for name, mod in m.named_children():
        on = name in trainable
        for p in mod.parameters():
            p.requires_grad = on
        mod.train(on)  # frozen BatchNorm in eval mode


def steps_per_sec(m, x, y, batches, warmup=2):
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    for i in range(warmup + batches):
        if i == warmup:
            t0 = time.perf_counter()
        opt.zero_grad()
        loss = lossf(m(x), y)
        loss.backward()
        opt.step()
    return batches / (time.perf_counter() - t0)


def main():
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    samples = int(sys.argv[2]) if len(sys.argv) > 2 else 640
    m = ResnetMini(5)
    x = torch.rand(batch, 1, 28, 28)
    y = torch.randint(0, 5, (batch,))
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "batch": batch}
    for regime, n in (("head", 20), ("partial", 10), ("full", 8)):
        set_regime(m, regime)
        out[regime] = {"samplesPerSec": steps_per_sec(m, x, y, n) * batch}
    # a 5-epoch head-only stage over `samples` images
    set_regime(m, "head")
    t0 = time.perf_counter()
    steps_per_sec(m, x, y, 5 * max(1, samples // batch), warmup=0)
    out["headStage5Epochs"] = {"seconds": time.perf_counter() - t0, "samples": samples}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
