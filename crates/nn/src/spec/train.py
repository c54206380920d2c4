"""Continues training a model exported by nnlab, in PyTorch.

    python train.py [--steps N] [--eval-every K] [--lr LR] [--out trained.safetensors]
    torchrun --nproc_per_node=N train.py [...]

Reads model.py (the model), weights.safetensors (its weights), data.safetensors
(the data it trained on) and training.json (optimizer, loss, batch size,
schedule). Under torchrun, DistributedDataParallel splits every batch across
the processes (gloo on the CPU, NCCL on GPUs), so the global batch stays the
spec's. Writes the trained weights to trained.safetensors.
"""
import argparse
import json
import os
import sys
import warnings

import torch
import torch.distributed as dist
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel

from model import Model


def optimizer_for(cfg, params):
    name, wd, maximize = cfg["name"], cfg.get("weightDecay", 0.0), cfg.get("maximize", False)
    betas = (cfg.get("beta1", 0.9), cfg.get("beta2", 0.999))
    if name == "sgd":
        return torch.optim.SGD(params, lr=cfg["lr"], momentum=cfg.get("momentum", 0.0), dampening=cfg.get("dampening", 0.0),
                               nesterov=cfg.get("nesterov", False), weight_decay=wd, maximize=maximize)
    if name == "adam":
        return torch.optim.Adam(params, lr=cfg["lr"], betas=betas, eps=cfg.get("eps", 1e-8), weight_decay=wd,
                                amsgrad=cfg.get("amsgrad", False), maximize=maximize)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=cfg["lr"], betas=betas, eps=cfg.get("eps", 1e-8), weight_decay=cfg.get("weightDecay", 0.01),
                                 amsgrad=cfg.get("amsgrad", False), maximize=maximize)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg["lr"], alpha=cfg.get("alpha", 0.99), eps=cfg.get("eps", 1e-8), momentum=cfg.get("momentum", 0.0),
                                   weight_decay=wd, centered=cfg.get("centered", False), maximize=maximize)
    raise ValueError(f"unknown optimizer {name}")


def scheduler_for(cfg, optimizer):
    if cfg is None or cfg["name"] == "constant":
        return None
    lrs = torch.optim.lr_scheduler
    if cfg["name"] == "step":
        return lrs.StepLR(optimizer, step_size=cfg["stepSize"], gamma=cfg["gamma"])
    if cfg["name"] == "cosine":
        return lrs.CosineAnnealingLR(optimizer, T_max=cfg["tMax"], eta_min=cfg["etaMin"])
    if cfg["name"] == "warmupCosine":
        warm = lrs.LinearLR(optimizer, start_factor=cfg["startFactor"], total_iters=cfg["warmup"])
        cosine = lrs.CosineAnnealingLR(optimizer, T_max=cfg["tMax"], eta_min=cfg["etaMin"])
        return lrs.SequentialLR(optimizer, [warm, cosine], milestones=[cfg["warmup"]])
    raise ValueError(f"unknown schedule {cfg['name']}")


def loss_fn(cfg, classes, features):
    name = cfg["name"]
    reduction = cfg.get("reduction", "mean")

    def values(key, out):
        return torch.tensor(cfg[key], device=out.device) if key in cfg else None

    if name == "cross_entropy":
        smoothing, ignore = cfg.get("labelSmoothing", 0.0), cfg.get("ignoreIndex", -100)
        return lambda out, y: F.cross_entropy(out.reshape(-1, classes), y.reshape(-1).long(), weight=values("weight", out),
                                              ignore_index=ignore, label_smoothing=smoothing, reduction=reduction)
    if name == "mse":
        return lambda out, y: F.mse_loss(out, y.reshape(out.shape), reduction=reduction)
    if name == "huber":
        return lambda out, y: F.huber_loss(out, y.reshape(out.shape), delta=cfg.get("delta", 1.0), reduction=reduction)
    if name == "bce_with_logits":
        return lambda out, y: F.binary_cross_entropy_with_logits(out, y.reshape(out.shape), pos_weight=values("posWeight", out),
                                                                 reduction=reduction)
    if name == "bias_loss":
        alpha, beta = cfg.get("alpha", 0.3), cfg.get("beta", 0.3)

        def bias_loss(out, y):
            ce = F.cross_entropy(out.reshape(-1, classes), y.reshape(-1).long(), reduction="none")
            if not torch.is_grad_enabled():
                return ce.mean()  # evaluation reports the cross-entropy, as nnlab does
            with torch.no_grad():
                f = features["out"]
                v = f.reshape(len(f), -1).var(dim=1)
                z = torch.exp(alpha * (v - v.min()) / (v.max() - v.min()).clamp_min(1e-12)) - beta
            return (ce * z).mean()
        return bias_loss
    raise ValueError(f"unknown loss {name}")


@torch.no_grad()
def evaluate(model, loss, x, y, classes, batch=1024):
    model.eval()
    total, correct = 0.0, 0
    for i in range(0, len(x), batch):
        out = model(x[i:i + batch])
        total += loss(out, y[i:i + batch]).item() * len(out)
        if classes:
            correct += (out.reshape(-1, classes).argmax(-1) == y[i:i + batch].reshape(-1).long()).sum().item()
    model.train()
    targets = y.numel() if classes else 1
    return total / len(x), (correct / targets if classes else None)


def main():
    cfg = json.load(open("training.json"))
    parser = argparse.ArgumentParser(description=f"Continue training {cfg['name']} (exported by nnlab at step {cfg['step']}).")
    parser.add_argument("--steps", type=int, default=cfg["steps"], help="optimizer steps to take (default: the spec's)")
    parser.add_argument("--eval-every", type=int, default=0, help="steps between evaluations on the test set (default: steps / 10)")
    parser.add_argument("--lr", type=float, default=None, help="override the learning rate")
    parser.add_argument("--out", default="trained.safetensors")
    args = parser.parse_args()

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}") if torch.cuda.is_available() else torch.device("cpu")
    log = print if rank == 0 else (lambda *a, **k: None)
    for setting in cfg["notReproduced"]:
        log(f"note: the spec's {setting} is not reproduced here")

    model = Model()
    model.load_state_dict(load_file("weights.safetensors"))
    model.to(device).train()
    trainable = set(cfg["trainable"])
    for name, p in model.named_parameters():
        p.requires_grad_(name in trainable)
    net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) if distributed else model

    data = {k: v.to(device) for k, v in load_file("data.safetensors").items()}
    x, y = data["x_train"], data["y_train"]
    classes = cfg["classes"]
    # The bias loss weighs the feature maps of one layer: keep its last output.
    features = {}
    if cfg.get("biasFeatures") is not None:
        model[cfg["biasFeatures"]].register_forward_hook(lambda module, inputs, out: features.__setitem__("out", out))
    loss = loss_fn(cfg["loss"], classes, features)
    # Evaluation reports the mean over examples whatever the training reduction, as nnlab does.
    eval_loss = loss_fn(dict(cfg["loss"], reduction="mean"), classes, features)
    opt_cfg = dict(cfg["optimizer"], **({"lr": args.lr} if args.lr else {}))
    optimizer = optimizer_for(opt_cfg, [p for p in model.parameters() if p.requires_grad])
    scheduler = scheduler_for(cfg["schedule"], optimizer)
    if scheduler:
        # The schedule continues from the step the export was taken at.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(cfg["step"]):
                scheduler.step()

    test_loss, test_acc = evaluate(model, eval_loss, data["x_test"], data["y_test"], classes)
    log(f"{cfg['name']}: {len(x)} training examples, {world} process(es), batch {cfg['batchSize']}; "
        f"step {cfg['step']}: test loss {test_loss:.4f}" + (f", test accuracy {test_acc:.3f}" if classes else ""))

    # Every process draws the same order; each takes its share of every global batch.
    order = torch.Generator().manual_seed(cfg["seed"] + cfg["step"])
    perm, pos = torch.randperm(len(x), generator=order), 0
    every = args.eval_every or max(1, args.steps // 10)
    for step in range(1, args.steps + 1):
        if pos + world > len(x):
            perm, pos = torch.randperm(len(x), generator=order), 0
        batch = perm[pos:pos + cfg["batchSize"]]
        pos += cfg["batchSize"]
        mine = batch[rank::world].to(device)
        out = net(x[mine])
        value = loss(out, y[mine])
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        if cfg["clipGradNorm"]:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["clipGradNorm"])
        optimizer.step()
        if scheduler:
            scheduler.step()
        if step % every == 0 or step == args.steps:
            train_loss = value.detach().clone()
            if distributed:
                dist.all_reduce(train_loss)
                train_loss /= world
            test_loss, test_acc = evaluate(model, eval_loss, data["x_test"], data["y_test"], classes)
            log(f"step {cfg['step'] + step}: train loss {train_loss.item():.4f}, test loss {test_loss:.4f}"
                + (f", test accuracy {test_acc:.3f}" if classes else ""))

    if rank == 0:
        # All f32 (BatchNorm's batch counter included), as nnlab reads them.
        save_file({k: v.float().contiguous().cpu() for k, v in model.state_dict().items()}, args.out)
        log(f"saved {args.out}")
    if distributed:
        # Leave together: a rank that tears gloo down while another is still
        # saving can abort at exit ("terminate called without an active exception").
        dist.barrier()
        dist.destroy_process_group()
        # gloo's threads can still abort the interpreter's own shutdown now and
        # then; everything is written, so leave without it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
