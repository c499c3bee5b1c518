"""PyTorch reference for `npm run bench -- --torchvision-only`: a torchvision network with a new 2-class
head, trained in one regime at 2 threads, as freezeflow trains the same network imported from ONNX.
Prints one JSON object: samples/s over the timed steps and the process's peak RSS.

  torch_tv_bench.py --model resnet18 --regime head|last|full [--size 160] [--batch 32] [--steps 3]

Regimes (the same layers as scripts/bench.ts's TORCHVISION table):
  head  the new head alone, on features computed once by the frozen body (freezeflow caches them too)
  last  the last block(s) and the head; everything before frozen the PyTorch way: requires_grad=False and
        BatchNorm in eval mode, so autograd stops at the first trainable layer
  full  every layer, BatchNorm in training mode
Adam at lr 1e-3, cross-entropy, random inputs; the first step is warm-up and not timed.
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torchvision

torch.set_num_threads(2)
torch.manual_seed(0)

# what "last" trains, by module name prefix (the new head always trains)
LAST = {
    "resnet18": ["layer4.1"],
    "mobilenet_v3_small": ["features.11", "features.12", "classifier.0"],
    "efficientnet_b0": ["features.7", "features.8"],
}


def with_new_head(name):
    """The torchvision network, its last Linear replaced by a 2-class one (what freezeflow's cut and head do)."""
    m = getattr(torchvision.models, name)()
    if name == "resnet18":
        m.fc = nn.Linear(m.fc.in_features, 2)
        return m, ["fc"]
    last = len(m.classifier) - 1
    m.classifier[last] = nn.Linear(m.classifier[last].in_features, 2)
    return m, [f"classifier.{last}"]


def freeze_except(model, prefixes):
    """requires_grad only under `prefixes`; frozen modules in eval mode (frozen BatchNorm, no dropout)."""
    on = lambda n: any(n == p or n.startswith(p + ".") for p in prefixes)
    for n, p in model.named_parameters():
        p.requires_grad = on(n)
    for n, mod in model.named_modules():
        if n:
            mod.train(on(n) or any(p.startswith(n + ".") for p in prefixes))


def body_and_head(name, model):
    """The frozen body as one function of x, and the new head, for the cached-features regime."""
    if name == "resnet18":
        body = nn.Sequential(*list(model.children())[:-1], nn.Flatten())
        return body, model.fc
    last = len(model.classifier) - 1
    body = nn.Sequential(model.features, model.avgpool, nn.Flatten(), *model.classifier[:last])
    return body, model.classifier[last]


def timed(step, steps):
    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, choices=sorted(LAST))
    ap.add_argument("--regime", required=True, choices=["head", "last", "full"])
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3)
    a = ap.parse_args()
    model, head_names = with_new_head(a.model)
    x = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.arange(a.batch) % 2
    loss_fn = nn.CrossEntropyLoss()
    if a.regime == "head":
        body, head = body_and_head(a.model, model)
        body.eval()
        with torch.no_grad():
            feats = body(x)  # computed once, as freezeflow's feature cache does
        opt = torch.optim.Adam(head.parameters(), lr=1e-3)

        def step():
            opt.zero_grad()
            loss_fn(head(feats), y).backward()
            opt.step()

    else:
        if a.regime == "full":
            model.train()
            for p in model.parameters():
                p.requires_grad = True
        else:
            freeze_except(model, LAST[a.model] + head_names)
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)

        def step():
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()

    seconds = timed(step, a.steps)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"samplesPerSec": a.batch * a.steps / seconds, "peakRssMB": rss, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
