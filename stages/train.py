"""Stage 2: train the model named in params.yaml, log every epoch, keep last.pt and best.pt.

    python stages/train.py          # by hand, under ``dvc exp run``, or as a sweep's trial

Every hyperparameter comes from params.yaml (plus a sweep trial's overrides from the environment).
An interrupted training resumes from ``checkpoints/last.pt`` when its params match. Training stops
early when the sweep's stopper says so (``run.should_stop()``) or after ``train.patience`` epochs
without improvement of ``train.monitor``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``stages`` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stages.checks import MONITORS, REQUIRED, check_train_params  # noqa: E402
from stages.common import CHECKPOINTS, PREPARED, choice, section, stage_main  # noqa: E402


def backends(cfg: dict) -> object:
    """``EXPTRACK_BACKENDS`` (set by a sweep) wins over ``train.backends``; ``local`` by default."""
    from exptrack_core.run import ENV_BACKENDS

    return os.environ.get(ENV_BACKENDS) or cfg.get("backends") or "local"


def with_system(names: object, interval: float) -> object:
    """The pipeline records CPU, memory and GPU use (the ``system`` backend) unless
    ``train.system_metrics`` is 0, whoever chose the other backends (a sweep included)."""
    from exptrack_core.plugin.registry import get_registry

    listed = [n.strip() for n in (names.split(",") if isinstance(names, str) else names)]
    if interval > 0 and "system" not in listed and "system" in get_registry().names("backend"):
        listed.append("system")
    return listed


def checkpoint_dir(run) -> Path:
    """``checkpoints/`` (dvc.yaml's output), except for a sweep trial running outside DVC: trials
    sharing one workspace each keep their own, in their run directory. Under DVC (``DVC_STAGE``
    is set) each experiment has its workspace and DVC versions ``checkpoints/``."""
    from exptrack_core.run import ENV_RUN_ID

    if os.environ.get(ENV_RUN_ID) and not os.environ.get("DVC_STAGE"):
        return run.checkpoint_dir  # a re-run attempt of the trial finds it again
    return CHECKPOINTS


def final_test(params: dict, ckpt_dir: Path, data, device) -> dict:
    """``test_loss``, ``test_acc`` and ``test_f1`` of the checkpoint the evaluate stage scores
    (``evaluate.checkpoint``), computed by its code, for the run's final metrics: a batch or a
    sweep is then ranked with ``exptrack compare --split test`` without running that stage, which
    still writes metrics/eval.json and the per-class reports. Checked before training began."""
    from stages import checkpoints
    from stages.evaluate import test_scores

    cfg = section(params, "evaluate", ("checkpoint", "batch_size", "amp"))
    which = cfg["checkpoint"]
    scores, _, _ = test_scores(checkpoints.load(ckpt_dir / f"{which}.pt"), data,
                               int(cfg["batch_size"]), device, bool(cfg["amp"]))
    print(f"{which}.pt on the test split  " + "  ".join(f"{k} {v:.4g}" for k, v in scores.items()),
          flush=True)
    return scores


def main(params: dict) -> None:
    import torch

    import exptrack
    from exptrack_core.run import ENV_EXPERIMENT
    from stages import checkpoints
    from stages.common import pick_device, seed_everything
    from stages.data import Prepared
    from stages.loop import classification_scores, predict, prepare_model, train_one_epoch
    from stages.losses import Objective
    from stages.models import build_model
    from stages.schedules import LrSchedule, build_optimizer, current_lr

    check_train_params(params)  # the same checks a sweep runs before its first trial
    cfg = section(params, "train", REQUIRED)
    model_cfg = section(params, "model", ("name",))
    monitor = choice(cfg["monitor"], "train.monitor", MONITORS)
    maximize = monitor != "val_loss"
    epochs, patience, seed = int(cfg["epochs"]), int(cfg["patience"]), int(cfg["seed"])
    device = pick_device(cfg["device"])
    seed_everything(seed)

    data = Prepared(PREPARED)
    model = prepare_model(build_model(model_cfg, data.input_shape[0], data.num_classes), device)
    generator = torch.Generator().manual_seed(seed)  # the shuffling order, saved for resuming
    workers = int(cfg["num_workers"])
    train_loader = data.loader("train", cfg["batch_size"], shuffle=True, device=device,
                               generator=generator, num_workers=workers)
    val_loader = data.loader("val", cfg["batch_size"], shuffle=False, device=device,
                             num_workers=workers)
    objective = Objective.from_params(cfg, data.labels("train"), data.num_classes, device)
    optimizer = build_optimizer(cfg, model)
    schedule = LrSchedule(cfg, optimizer, len(train_loader), maximize)

    experiment = os.environ.get(ENV_EXPERIMENT) or cfg.get("experiment")
    interval = float(cfg.get("system_metrics", 5))
    with exptrack.init(experiment=experiment, params=params, backends=with_system(backends(cfg), interval),
                       backend_options={"system": {"interval": interval}}) as run:
        ckpt_dir = checkpoint_dir(run)
        state, why = checkpoints.resumable(ckpt_dir / "last.pt", params)
        start, best, best_epoch, stale, history, stopped = 1, None, 0, 0, [], None
        if state is not None:
            model.load_state_dict(state["model"])
            schedule.load_state_dict(state["schedule"])
            optimizer.load_state_dict(state["optimizer"])  # after the schedule: see LrSchedule
            torch.set_rng_state(state["rng"]["torch"])
            generator.set_state(state["rng"]["loader"])
            start, best, best_epoch = state["epoch"] + 1, state["best"], state["best_epoch"]
            stale, history, stopped = state["stale"], state["history"], state.get("stopped")
            print(why, flush=True)
        if run.resumed_from is None:  # a re-run attempt continues a run that has them already
            for epoch, logged in history:  # a resumed run carries the curves it continues
                run.log(logged, step=epoch)

        for epoch in range(start, epochs + 1):
            if stopped:
                break
            began, lr = time.perf_counter(), current_lr(optimizer)
            metrics = train_one_epoch(model, train_loader, objective, optimizer, schedule, device, cfg)
            val_loss, pred, true = predict(model, val_loader, objective, device, bool(cfg["amp"]))
            scores = classification_scores(pred, true)
            metrics.update(val_loss=val_loss, val_acc=scores["acc"], val_f1=scores["f1"], lr=lr,
                           epoch_time=time.perf_counter() - began)
            schedule.after_epoch(metrics[monitor])
            improved = best is None or (metrics[monitor] > best if maximize
                                        else metrics[monitor] < best)
            best, best_epoch, stale = ((metrics[monitor], epoch, 0) if improved
                                       else (best, best_epoch, stale + 1))
            history.append((epoch, metrics))
            run.log(metrics, step=epoch)
            print(f"epoch {epoch}/{epochs}  " + "  ".join(f"{k} {v:.4g}" for k, v in metrics.items()),
                  flush=True)
            if run.should_stop():
                stopped = "the sweep's early stopper"
            elif patience > 0 and stale >= patience:
                stopped = f"no {monitor} improvement in {patience} epochs (train.patience)"
            state = {
                "epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(), "best": best, "best_epoch": best_epoch,
                "stale": stale, "history": history, "stopped": stopped,
                "rng": {"torch": torch.get_rng_state(), "loader": generator.get_state()},
                "fingerprint": checkpoints.fingerprint(params), "params": params,
                "classes": data.classes, "input_shape": data.input_shape,
            }
            if improved:
                checkpoints.save(ckpt_dir / "best.pt", state)
            checkpoints.save(ckpt_dir / "last.pt", state)
            if stopped:
                print(f"stopping after epoch {epoch}: {stopped}", flush=True)
        if best is None:
            raise exptrack.ExptrackError(f"train.epochs is {epochs}; nothing was trained")
        final = {f"best_{monitor}": float(best), "best_epoch": best_epoch,
                 "epochs_trained": len(history)}
        if cfg.get("final_test", True):
            final.update(final_test(params, ckpt_dir, data, device))
        run.log(final)


if __name__ == "__main__":
    stage_main(main)
