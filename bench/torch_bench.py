"""PyTorch reference for `npm run bench` and scripts/gpu-check.sh: the same resnet-mini (stem, layer1..3
BasicBlocks, pool, head), trained in the same three regimes at batch 64 with 2 threads, and with
--mobilenet-batch a MobileNetV2 (width 0.35, 224x224, as the Teachable Machine export in ../shared) in
its three regimes. Prints one JSON object.

  torch_bench.py [BATCH [SAMPLES]] [--device cpu|cuda] [--mobilenet-batch 32,64]
  torch_bench.py --main-job      the main job's schedule (20 epochs), timed
  torch_bench.py --mobilenet-memory 32   MobileNetV2 every layer at batch 32: samples/s and peak RSS

Frozen parts are frozen the PyTorch way: requires_grad=False and BatchNorm in eval mode, so autograd
stops at the first trainable layer (no caching of frozen outputs).
"""
import argparse
import json
import resource
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


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def steps_per_sec(m, x, y, batches, warmup=2):
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    for i in range(warmup + batches):
        if i == warmup:
            sync(x.device.type)
            t0 = time.perf_counter()
        opt.zero_grad()
        loss = lossf(m(x), y)
        loss.backward()
        opt.step()
    sync(x.device.type)
    return batches / (time.perf_counter() - t0)


def divisible(v, d=8):
    n = max(d, int(v + d / 2) // d * d)
    return n + d if n < 0.9 * v else n


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 as in Sandler et al. / Keras, width multiplier `alpha`; children: features, head."""

    def __init__(self, classes, alpha=0.35):
        super().__init__()
        cin = divisible(32 * alpha)
        feats = [nn.Sequential(nn.Conv2d(3, cin, 3, 2, 1, bias=False), nn.BatchNorm2d(cin), nn.ReLU6())]
        for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
            for i in range(n):
                cout = divisible(c * alpha)
                feats.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        feats.append(nn.Sequential(nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6()))
        self.features = nn.Sequential(*feats)
        self.head = nn.Linear(1280, classes)

    def forward(self, x):
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1))


def set_mobilenet_regime(m, regime):
    # partial = the last inverted residual block (Keras block_16) and the final 1x1 conv (Conv_1), as bench.ts
    last = len(m.features) - 2
    for i, mod in enumerate(m.features):
        on = regime == "full" or (regime == "partial" and i >= last)
        for p in mod.parameters():
            p.requires_grad = on
        mod.train(on)
    for p in m.head.parameters():
        p.requires_grad = True


def mobilenet(batch, device):
    m = MobileNetV2(2).to(device)
    x = torch.rand(batch, 3, 224, 224, device=device)
    y = torch.randint(0, 2, (batch,), device=device)
    out = {}
    for regime in ("head", "partial", "full"):
        set_mobilenet_regime(m, regime)
        n = 20 if device == "cuda" else 3
        out[regime] = steps_per_sec(m, x, y, n, warmup=3 if device == "cuda" else 1) * batch
    return out


def mobilenet_full_memory(batch):
    """Every-layer MobileNetV2 steps at `batch` in this process: samples/s and the process's peak RSS."""
    m = MobileNetV2(2)
    x = torch.rand(batch, 3, 224, 224)
    y = torch.randint(0, 2, (batch,))
    set_mobilenet_regime(m, "full")
    rate = steps_per_sec(m, x, y, 3, warmup=1) * batch
    return {"samplesPerSec": rate, "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main_job(train_n=3894, val_n=974, batch=64):
    """The main job's schedule (schedules/progressive.yaml) timed in PyTorch: resnet-mini with the same head
    (dense 256 + ReLU, dropout 0.5, dense 5); 5 epochs head only (Adam 1e-3), 10 epochs layer3 + head
    (AdamW 1e-4, weight decay 1e-4), 5 epochs everything (Adam 1e-5, cosine to 1e-7 per batch); every
    epoch a shuffled pass over train_n digits and a validation pass over val_n. Random digits of the same
    shape: this measures time, not accuracy."""
    m = ResnetMini(5)
    m.head = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 5))
    x, y = torch.rand(train_n, 1, 28, 28), torch.randint(0, 5, (train_n,))
    xv, yv = torch.rand(val_n, 1, 28, 28), torch.randint(0, 5, (val_n,))
    lossf = nn.CrossEntropyLoss()
    steps = (train_n + batch - 1) // batch
    t0 = time.perf_counter()
    for regime, epochs in (("head", 5), ("partial", 10), ("full", 5)):
        set_regime(m, regime)
        params = [p for p in m.parameters() if p.requires_grad]
        if regime == "head":
            opt = torch.optim.Adam(params, lr=1e-3)
        elif regime == "partial":
            opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=1e-4)
        else:
            opt = torch.optim.Adam(params, lr=1e-5)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * steps, eta_min=1e-7) if regime == "full" else None
        for _ in range(epochs):
            perm = torch.randperm(train_n)
            for b in range(0, train_n, batch):
                idx = perm[b : b + batch]
                opt.zero_grad()
                lossf(m(x[idx]), y[idx]).backward()
                opt.step()
                if sched:
                    sched.step()
            modes = [mod.training for mod in m.modules()]
            m.eval()
            with torch.no_grad():
                for b in range(0, val_n, 256):
                    lossf(m(xv[b : b + 256]), yv[b : b + 256]).item()
            for mod, mode in zip(m.modules(), modes):
                mod.training = mode
    return {"seconds": time.perf_counter() - t0, "trainSamples": train_n, "valSamples": val_n, "epochs": 20}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("batch", nargs="?", type=int, default=64)
    ap.add_argument("samples", nargs="?", type=int, default=640)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--mobilenet-batch", default="")
    ap.add_argument("--main-job", action="store_true", help="only the main job's 20 epochs")
    ap.add_argument("--mobilenet-memory", type=int, default=0, help="only MobileNetV2 every layer at this batch: peak RSS")
    a = ap.parse_args()
    if a.mobilenet_memory:
        print(json.dumps({"torch": torch.__version__, "mobilenetMemory": mobilenet_full_memory(a.mobilenet_memory)}))
        return
    if a.main_job:
        print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "mainJob": main_job()}))
        return
    batch, samples, device = a.batch, a.samples, a.device
    m = ResnetMini(5).to(device)
    x = torch.rand(batch, 1, 28, 28, device=device)
    y = torch.randint(0, 5, (batch,), device=device)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "batch": batch, "device": device}
    if device == "cuda":
        out["gpu"] = torch.cuda.get_device_name(0)
    for regime, n in (("head", 20), ("partial", 10), ("full", 8)):
        set_regime(m, regime)
        out[regime] = {"samplesPerSec": steps_per_sec(m, x, y, n) * batch}
    # a 5-epoch head-only stage over `samples` images
    set_regime(m, "head")
    t0 = time.perf_counter()
    steps_per_sec(m, x, y, 5 * max(1, samples // batch), warmup=0)
    out["headStage5Epochs"] = {"seconds": time.perf_counter() - t0, "samples": samples}
    if a.mobilenet_batch:
        out["mobilenetv2ByBatch"] = {b: mobilenet(int(b), device) for b in a.mobilenet_batch.split(",")}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
