#!/usr/bin/env python3
"""Export a torchvision network to ONNX with fixed random weights, and PyTorch's own outputs for a fixed
input, so freezeflow's importer can be checked against PyTorch (the independent reference).

  python3 scripts/torch_export.py --model resnet18 --size 96 --out DIR [--mode preserve|training|eval] [--step LR]

Writes DIR/model.onnx, DIR/input.bin (float32, NHWC: what the imported model takes), DIR/output.bin
(float32, PyTorch's eval-mode outputs) and DIR/meta.json. BatchNorm statistics are calibrated on random
batches and the affine parameters randomised (torchvision initialises them to 0/1, which would hide a
wrong mapping). --mode eval exports the
default way (BatchNorm folded into the convolutions, parameter names lost); preserve (the default) and
training keep every BatchNormalization node and the parameter names (no constant folding).
"""
import argparse
import json
import os

import torch
import torchvision


def calibrate_bn(model, size, gen):
    """Running statistics from a few random batches (as after pretraining: activations stay O(1) through
    the depth), then random affine parameters, so a wrong mapping of any of the four shows."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # a plain average over the calibration batches
    model.train()
    for m in model.modules():  # only BatchNorm in training mode: Dropout/StochasticDepth would skew the statistics
        if m not in bns and m is not model:
            m.eval()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, 3, size, size, generator=gen))
        for m in bns:
            m.momentum = 0.1
            m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def build(name, classes, seed, size):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, name)(num_classes=classes)
    calibrate_bn(model, size, torch.Generator().manual_seed(seed + 1))
    return model.eval()


def export(model, size, out, export_mode, opset, batch=2, seed=0):
    os.makedirs(out, exist_ok=True)
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed + 2))
    # PRESERVE on a model in eval mode keeps every BatchNormalization node and the parameter names (the
    # default EVAL folds BatchNorm into the convolutions); TRAINING does too, and also keeps Dropout, but
    # fails on modules that draw random numbers in training mode (EfficientNet's StochasticDepth).
    mode = {"eval": torch.onnx.TrainingMode.EVAL, "preserve": torch.onnx.TrainingMode.PRESERVE, "training": torch.onnx.TrainingMode.TRAINING}[export_mode]
    kwargs = {"training": mode} if export_mode == "eval" else {"training": mode, "do_constant_folding": False}
    path = os.path.join(out, "model.onnx")
    torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"], output_names=["output"], **kwargs)
    model.eval()  # a training-mode export leaves the module in train mode
    with torch.no_grad():
        y = model(x)
    x.permute(0, 2, 3, 1).contiguous().numpy().astype("float32").tofile(os.path.join(out, "input.bin"))
    y.numpy().astype("float32").tofile(os.path.join(out, "output.bin"))
    meta = {"inputShape": [batch, size, size, 3], "outputShape": list(y.shape), "torch": torch.__version__}
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f)


def sgd_step(model, out, size, lr, seed, batch=2):
    """One plain SGD step (frozen BatchNorm: the model in eval mode) on the exported input with fixed labels;
    writes every parameter after the step as DIR/step/<name>.bin (PyTorch layout) and the labels."""
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed + 2))
    y = torch.arange(batch) % model.fc.out_features
    model.eval()
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    os.makedirs(os.path.join(out, "step"), exist_ok=True)
    with torch.no_grad():
        for name, p in model.named_parameters():
            (p - lr * p.grad).numpy().astype("float32").tofile(os.path.join(out, "step", name + ".bin"))
    y.numpy().astype("int32").tofile(os.path.join(out, "labels.bin"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--mode", choices=["preserve", "training", "eval"], default="preserve")
    ap.add_argument("--out", required=True)
    ap.add_argument("--step", type=float, help="also one SGD step at this lr (DIR/step/, DIR/labels.bin)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    model = build(a.model, a.classes, a.seed, a.size)
    export(model, a.size, a.out, a.mode, a.opset, seed=a.seed)
    if a.step:
        sgd_step(model, a.out, a.size, a.step, a.seed)


if __name__ == "__main__":
    main()
