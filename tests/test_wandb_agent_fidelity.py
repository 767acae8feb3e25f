"""A trial of a public W&B sweep file gets what `wandb agent` would give it, byte for byte.

The reference is wandb's own code, run on the same params: the sweeps library turns the flat point
into the run's config (renesting nested blocks), and the agent's ``_command_run`` (wandb 0.31.0,
``wandb/wandb_agent.py``) writes the param file and expands the command. Only ``AgentProcess`` is
replaced, by a recorder, because it would start the program. The W&B server is not here: it hands
the run's config to the agent with its names sorted, which the reference does in its place.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from exptrack_core.sweep.config import SweepConfig
from exptrack_core.sweep.macros import DEFAULT_COMMAND, command_args, expand_command
from exptrack_plugins.wandb.agent import PARAMS_FILE, agent_env

pytest.importorskip("sweeps")

CORPUS = Path(__file__).parent / "data" / "wandb_sweeps"
FILES = sorted(CORPUS.glob("*.yaml"))


def trial_points(config: SweepConfig, n: int = 5) -> list[dict]:
    """The params of a few trials, as exptrack's search hands them over (flat, dotted)."""
    if config.method == "grid":
        grid = list(config.space.iter_grid())
        return grid[:n] + grid[-1:]
    rng = random.Random(7)
    return [config.space.sample(rng) for _ in range(n)]


def wandb_run_args(raw_parameters: dict, point: dict) -> dict:
    """The run config the sweeps library builds for that point: ``{name: {"value": v}}``."""
    from sweeps.params import HyperParameterSet

    hps = HyperParameterSet.from_config(raw_parameters)
    for hp in hps:
        hp.value = point[hp.name.replace(HyperParameterSet.NESTING_DELIMITER, ".")]
    return dict(sorted(hps.to_config().items()))


def wandb_agent_trial(raw: dict, point: dict, tmp: Path, monkeypatch) -> tuple[list, str, bytes]:
    """What wandb's agent does for one run: its argv, its args_json file and its param file."""
    import wandb.wandb_agent as agent_mod

    started: list[list[str]] = []

    class Recorder:
        def __init__(self, command=None, **_):
            started.append(command)

    monkeypatch.setattr(agent_mod, "AgentProcess", Recorder)
    monkeypatch.setenv("WANDB_SWEEP_ID", "sw1")
    monkeypatch.setenv("WANDB_DIR", str(tmp))
    agent = agent_mod.Agent.__new__(agent_mod.Agent)
    agent._sweep_command = raw.get("command") or list(DEFAULT_COMMAND)
    agent._function, agent._in_jupyter, agent._forward_signals = None, False, False
    agent._run_processes = {}
    saved = dict(os.environ)  # the agent sets WANDB_SWEEP_PARAM_PATH & co. in os.environ itself
    try:
        agent._command_run({"run_id": "r1", "program": raw.get("program"),
                            "args": wandb_run_args(raw["parameters"], point)})
    finally:
        os.environ.clear()
        os.environ.update(saved)
    base = tmp / "wandb" / "sweep-sw1"
    json_file = base / "config-r1.json"
    return (started[0], json_file.read_text() if json_file.exists() else "",
            (base / "config-r1.yaml").read_bytes())


def exptrack_trial(config: SweepConfig, point: dict, tmp: Path) -> tuple[list, str, bytes]:
    wargs = config.space.agent_args(point)
    tmp.mkdir(parents=True, exist_ok=True)
    agent_env(tmp, "run-1", "sw1", wargs)
    out = expand_command(wargs, config.command, program=config.program, interpreter="python",
                         json_dir=tmp)
    argv = [str(a) for a in out.argv]
    text = out.json_file.read_text() if out.json_file else ""
    if out.json_file:  # the path differs (a temp file); its content must not
        argv = [a if a != str(out.json_file) else "<json>" for a in argv]
    return argv, text, (tmp / PARAMS_FILE).read_bytes()


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_a_public_sweep_file_gives_the_agents_argv_args_json_and_param_file(
        path, tmp_path, monkeypatch):
    raw = yaml.safe_load(path.read_text())
    config = SweepConfig.load(path)
    for i, point in enumerate(trial_points(config)):
        ours = exptrack_trial(config, point, tmp_path / f"x{i}")
        theirs = wandb_agent_trial(raw, point, tmp_path / f"w{i}", monkeypatch)
        their_argv = [a if not a.endswith("config-r1.json") else "<json>" for a in theirs[0]]
        assert ours[0] == their_argv
        assert ours[1] == theirs[1]
        assert ours[2] == theirs[2]


def test_the_nested_example_renests_one_flag_and_keeps_dotted_names_flat(tmp_path):
    config = SweepConfig.load(CORPUS / "sweeps-nested-cli.yaml")
    argv, _, param_file = exptrack_trial(config, next(config.space.iter_grid()), tmp_path)
    assert argv[-2:] == ["--batch_size=32", "--optimizer={'lr': 0.001, 'nadam': {'beta': 0.9}}"]
    assert yaml.safe_load(param_file)["optimizer"] == {"value": {"lr": 0.001, "nadam": {"beta": 0.9}}}


def test_a_value_beside_its_dotted_key_reaches_args_json_flat():
    config = SweepConfig.load(CORPUS / "edge-cases.yaml")
    wargs = config.space.agent_args(config.space.sample(random.Random(1)))
    data = json.loads(command_args(wargs)["args_json"][0])
    assert isinstance(data["dataset"], str) and isinstance(data["dataset.train_batch"], int)
    assert list(data) == sorted(data)


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_every_public_sweep_file_passes_dry_run(path, tmp_path):
    exe = Path(sys.executable).with_name("exptrack")
    done = subprocess.run([str(exe), "sweep", "--config", str(path),
                           "--dry-run"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "EXPTRACK_DIR": str(tmp_path / ".exptrack")})
    assert done.returncode == 0, done.stderr
    assert "dry run: nothing was started" in done.stdout
