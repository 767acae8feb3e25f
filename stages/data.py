"""The dataset: scikit-learn's 8x8 digits or an ImageFolder directory, split and saved as one .npz."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from exptrack import ExptrackError

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def load_digits_images(image_size: int):
    """scikit-learn's digits (ships with it, no download): 1797 images, 10 classes, in [0, 1]."""
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]  # N, 1, 8, 8
    if image_size != x.shape[-1]:
        import torch
        import torch.nn.functional as F

        x = F.interpolate(torch.from_numpy(x), size=(image_size, image_size), mode="bilinear",
                          align_corners=False).numpy()
    return x, digits.target.astype(np.int64), [str(c) for c in digits.target_names]


def check_image_folder(root: Path) -> None:
    if not root.exists():
        raise ExptrackError(
            f"data.source {str(root)!r} does not exist; give 'digits' or an ImageFolder directory "
            "(one sub-directory of images per class)")
    if not root.is_dir():
        raise ExptrackError(f"data.source {str(root)!r} is a file; expected an ImageFolder directory")
    classes = [d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")]
    with_images = [d for d in classes
                   if any(p.suffix.lower() in IMAGE_SUFFIXES for p in d.rglob("*") if p.is_file())]
    if len(with_images) < 2:
        found = f"{len(with_images)} class directory with images" if with_images else "no images"
        raise ExptrackError(
            f"data.source {str(root)!r} has {found}; an ImageFolder directory needs at least two "
            f"sub-directories (one per class) holding images ({', '.join(IMAGE_SUFFIXES)})")


def load_image_folder(root: Path, image_size: int, channels: int):
    import numpy as np
    from torchvision import datasets, transforms

    check_image_folder(root)
    steps = [transforms.Resize((image_size, image_size))]
    if channels == 1:
        steps.append(transforms.Grayscale(1))
    steps.append(transforms.ToTensor())
    folder = datasets.ImageFolder(str(root), transform=transforms.Compose(steps))
    xs, ys = [], []
    for i in range(len(folder)):
        try:
            x, y = folder[i]
        except OSError as exc:
            raise ExptrackError(f"cannot read image {folder.samples[i][0]!r}: {exc}") from None
        if x.shape[0] != channels:  # RGBA or palette images
            x = x[:3] if channels == 3 and x.shape[0] > 3 else x.expand(channels, -1, -1)
        xs.append(x.numpy())
        ys.append(y)
    return np.stack(xs).astype(np.float32), np.asarray(ys, dtype=np.int64), list(folder.classes)


def split(x, y, val_fraction: float, test_fraction: float, seed: int) -> dict[str, Any]:
    """Train/val/test, stratified by class when every class is big enough, fixed by ``seed``."""
    from sklearn.model_selection import train_test_split

    for key, value in (("data.val_fraction", val_fraction), ("data.test_fraction", test_fraction)):
        if not 0 < value < 1:
            raise ExptrackError(f"invalid {key} {value!r}; expected a number between 0 and 1")
    if val_fraction + test_fraction >= 1:
        raise ExptrackError(
            f"data.val_fraction + data.test_fraction = {val_fraction + test_fraction} leaves no "
            "training data; their sum must be below 1")

    def cut(a, b, fraction):
        try:
            return train_test_split(a, b, test_size=fraction, random_state=seed, stratify=b)
        except ValueError:  # a class too small to stratify
            return train_test_split(a, b, test_size=fraction, random_state=seed)

    x_rest, x_test, y_rest, y_test = cut(x, y, test_fraction)
    x_train, x_val, y_train, y_val = cut(x_rest, y_rest, val_fraction / (1 - test_fraction))
    return {"train": (x_train, y_train), "val": (x_val, y_val), "test": (x_test, y_test)}


def prepare(cfg: Mapping[str, Any], out: Path) -> dict[str, int]:
    """Read the source named by ``data.source``, split it, and save everything to ``out`` (.npz)."""
    import numpy as np

    source, size = cfg["source"], int(cfg["image_size"])
    if source == "digits":
        x, y, classes = load_digits_images(size)
    else:
        channels = int(cfg["channels"])
        if channels not in (1, 3):
            raise ExptrackError(f"invalid data.channels {channels!r}; expected 1 or 3")
        x, y, classes = load_image_folder(Path(str(source)), size, channels)
    parts = split(x, y, float(cfg["val_fraction"]), float(cfg["test_fraction"]), int(cfg["seed"]))
    x_train = parts["train"][0]
    arrays = {f"{kind}_{name}": arr for name, (xs, ys) in parts.items()
              for kind, arr in (("x", xs), ("y", ys))}
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays, classes=np.asarray(classes),
                        mean=x_train.mean(axis=(0, 2, 3)), std=x_train.std(axis=(0, 2, 3)) + 1e-6)
    return {name: len(ys) for name, (_, ys) in parts.items()}


class Prepared:
    """The saved dataset, normalised with the training split's mean and std."""

    def __init__(self, path: Path):
        import numpy as np

        if not path.is_file():
            raise ExptrackError(f"{str(path)!r} does not exist; run the prepare stage first "
                                "(python stages/prepare.py or dvc repro prepare)")
        with np.load(path) as npz:
            self.arrays = {k: npz[k] for k in npz.files}
        self.classes = [str(c) for c in self.arrays["classes"]]
        mean, std = self.arrays["mean"], self.arrays["std"]
        for name in SPLITS:
            self.arrays[f"x_{name}"] = ((self.arrays[f"x_{name}"] - mean[:, None, None])
                                        / std[:, None, None]).astype(np.float32)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.arrays["x_train"].shape[1:])

    def labels(self, name: str):
        return self.arrays[f"y_{name}"]

    def loader(self, name: str, batch_size: int, *, shuffle: bool, device, generator=None,
               num_workers: int = 0):
        import torch
        from torch.utils.data import DataLoader, TensorDataset

        if not isinstance(batch_size, int) or batch_size < 1:
            raise ExptrackError(f"invalid batch size {batch_size!r}; expected a positive integer")
        ds = TensorDataset(torch.from_numpy(self.arrays[f"x_{name}"]),
                           torch.from_numpy(self.arrays[f"y_{name}"]))
        return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=generator,
                          num_workers=num_workers, pin_memory=device.type == "cuda",
                          persistent_workers=num_workers > 0)


__all__ = ["Prepared", "check_image_folder", "load_digits_images", "load_image_folder", "prepare",
           "split"]
