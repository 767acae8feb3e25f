"""Models by name: the built-in ``small_cnn``, any timm model, or ``tv:<name>`` from torchvision.

``model.name`` picks the source: ``small_cnn`` is built in (fast on CPU), ``tv:resnet18`` is
torchvision's, and anything else (``resnet18``, ``timm:convnext_atto``) is a timm model name.
Pretrained weights are only read from the local caches unless ``model.download`` is true, so an
offline machine fails at once with a message instead of retrying a download for a minute.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from exptrack import ExptrackError

BUILTIN = ("small_cnn",)


def small_cnn(in_chans: int, num_classes: int, width: int, dropout: float):
    from torch import nn

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True)]

    return nn.Sequential(
        *block(in_chans, width), *block(width, width), nn.MaxPool2d(2),
        *block(width, 2 * width), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Dropout(dropout), nn.Linear(2 * width, num_classes))


def split_name(name: Any) -> tuple[str, str]:
    """``"tv:resnet18"`` -> ("torchvision", "resnet18"); ``"resnet18"`` -> ("timm", "resnet18")."""
    if not isinstance(name, str) or not name.strip():
        raise ExptrackError(f"invalid model.name {name!r}; expected small_cnn, a timm model name "
                            "(resnet18) or tv:<torchvision name> (tv:resnet18)")
    if name in BUILTIN:
        return "builtin", name
    prefix, _, rest = name.partition(":")
    if rest:
        sources = {"tv": "torchvision", "torchvision": "torchvision", "timm": "timm"}
        if prefix not in sources:
            raise ExptrackError(f"invalid model.name prefix {prefix!r} in {name!r}; expected "
                                "tv: (torchvision) or timm:, or no prefix for timm")
        return sources[prefix], rest
    return "timm", name


def cached_file(candidates: list[tuple[str, str]]) -> str | None:
    """The first of (hub repo id or url, filename) that is already in a local cache."""
    import torch

    for where, filename in candidates:
        if where.startswith(("http://", "https://")):
            path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(where)
            if path.is_file():
                return str(path)
        else:
            from huggingface_hub import try_to_load_from_cache

            found = try_to_load_from_cache(where, filename)
            if isinstance(found, str):
                return found
    return None


def not_cached(name: str, looked: list[str]) -> ExptrackError:
    return ExptrackError(
        f"model.pretrained is true but the weights of {name!r} are not in the local cache "
        f"(looked for {', '.join(looked)}) and no download is attempted; fetch them once on a "
        "machine with network (or set model.download: true), or set model.pretrained: false")


def timm_model(name: str, in_chans: int, num_classes: int, pretrained: bool, download: bool):
    import timm

    if not timm.is_model(name.split(".")[0]):
        close = timm.list_models(f"*{name.split('.')[0]}*")[:8]
        raise ExptrackError(f"unknown timm model {name!r}; similar: {', '.join(close) or 'none'} "
                            "(or use small_cnn, or tv:<name> for torchvision)")
    kwargs: dict[str, Any] = {"in_chans": in_chans, "num_classes": num_classes}
    if pretrained and not download:
        cfg = timm.models.get_pretrained_cfg(name, allow_unregistered=False)
        if cfg is None:
            raise ExptrackError(f"timm model {name!r} has no pretrained weights; set "
                                "model.pretrained: false")
        candidates = []
        if cfg.hf_hub_id:
            repo = cfg.hf_hub_id.split("@")[0]
            for filename in filter(None, (cfg.hf_hub_filename, "model.safetensors",
                                          "pytorch_model.bin")):
                candidates.append((repo, filename))
        if cfg.url:
            candidates.append((cfg.url, ""))
        path = cfg.file or cached_file(candidates)
        if path is None:
            raise not_cached(name, [f"{w}/{f}" if f else w for w, f in candidates])
        kwargs["pretrained_cfg_overlay"] = {"file": path}
    try:
        return timm.create_model(name, pretrained=pretrained, **kwargs)
    except (OSError, RuntimeError) as exc:
        raise ExptrackError(f"could not load pretrained weights for timm model {name!r}: "
                            f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None


def replace_last_linear(model, num_classes: int) -> None:
    from torch import nn

    last = None
    for parent in model.modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.Linear):
                last = (parent, child_name, child)
    if last is None:
        raise ExptrackError("cannot find the classifier (a Linear layer) of this torchvision model")
    parent, child_name, child = last
    setattr(parent, child_name, nn.Linear(child.in_features, num_classes))


def torchvision_model(name: str, in_chans: int, num_classes: int, pretrained: bool, download: bool):
    import torch
    from torch import nn
    from torchvision import models

    available = models.list_models(module=models)
    if name not in available:
        close = [m for m in available if name.split("_")[0] in m][:8]
        raise ExptrackError(f"unknown torchvision model {name!r}; similar: "
                            f"{', '.join(close) or ', '.join(available[:8])}")
    if pretrained:
        weights = models.get_model_weights(name).DEFAULT
        if not download and cached_file([(weights.url, "")]) is None:
            raise not_cached(f"tv:{name}", [str(Path(torch.hub.get_dir()) / "checkpoints" /
                                                os.path.basename(weights.url))])
        try:
            model = models.get_model(name, weights=weights)
        except (OSError, RuntimeError) as exc:
            raise ExptrackError(f"could not load pretrained weights for tv:{name}: "
                                f"{type(exc).__name__}: {exc}") from None
        replace_last_linear(model, num_classes)
    else:
        model = models.get_model(name, weights=None, num_classes=num_classes)
    if in_chans != 3:  # torchvision models take RGB: repeat a grey channel
        class ToRGB(nn.Module):
            def forward(self, x):
                return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x[:, :3]
        model = nn.Sequential(ToRGB(), model)
    return model


def build_model(cfg: Mapping[str, Any], in_chans: int, num_classes: int):
    source, name = split_name(cfg.get("name"))
    pretrained, download = bool(cfg.get("pretrained", False)), bool(cfg.get("download", False))
    if source == "builtin":
        if pretrained:
            raise ExptrackError(f"model {name!r} is built in and has no pretrained weights; "
                                "set model.pretrained: false or pick a timm/torchvision model")
        return small_cnn(in_chans, num_classes, int(cfg["width"]), float(cfg["dropout"]))
    if source == "timm":
        return timm_model(name, in_chans, num_classes, pretrained, download)
    return torchvision_model(name, in_chans, num_classes, pretrained, download)


__all__ = ["BUILTIN", "build_model", "replace_last_linear", "small_cnn", "split_name"]
