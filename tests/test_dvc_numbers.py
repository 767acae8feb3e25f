"""Numbers mean what their writer meant (issue 10, section 2): DVC writes params.yaml as YAML 1.2,
so ``lr: 1e-05`` is a float to exptrack as to DVC; sweep files are read as W&B reads them, with a
warning where W&B would see a string that looks like a number."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from exptrack_core.params import load_params
from exptrack_core.sweep.config import SweepConfig
from exptrack_core.sweep.lifecycle import fixed_params

from .conftest import run_cli

RECORD = """\
import exptrack
run = exptrack.init("numbers", exptrack.load_params(), backends="local")
run.finish()
"""


def sh(*cmd: str, cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, "DVC_NO_ANALYTICS": "1"},
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("dvc") is None, reason="needs the dvc command")
def test_dvc_exp_run_with_a_small_learning_rate_records_a_float(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    sh("git", "init", "-q", cwd=root)
    (root / "params.yaml").write_text("train:\n  lr: 0.001\n  epochs: 1\n")
    (root / "record.py").write_text(RECORD)
    (root / "dvc.yaml").write_text(textwrap.dedent(f"""\
        stages:
          record:
            cmd: {json.dumps(sys.executable + " record.py")}
            deps: [record.py]
            params: [train.lr]
        """))
    (root / ".gitignore").write_text("/experiments/\n")
    sh("dvc", "init", "-q", cwd=root)
    sh("git", "add", "-A", cwd=root)
    sh("git", "commit", "-q", "-m", "init", cwd=root)

    sh("dvc", "exp", "run", "-S", "train.lr=1e-5", cwd=root)

    assert "lr: 1e-05" in (root / "params.yaml").read_text()  # DVC's writer, YAML 1.2
    [run] = json.loads(run_cli("runs", "numbers", "--json", cwd=root, check=True).stdout)
    shown = json.loads(run_cli("show", run["run_id"], "--json", cwd=root, check=True).stdout)
    assert shown["params"]["train"]["lr"] == 1e-5  # a float, not the string "1e-05"


def test_params_yaml_is_read_with_yaml_1_2_meanings(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("lr: 1e-05\nanswer: yes\nat: 12:30\nmask: 0x1F\n")
    assert load_params(path, from_env=False) == {"lr": 1e-05, "answer": "yes", "at": "12:30",
                                                 "mask": 31}


def test_sweep_dash_s_hands_trials_a_float_for_3e_4(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  lr: 0.001\n")
    fixed = fixed_params(["train.lr=3e-4"], path)
    assert fixed == {"train.lr": 3e-4} and isinstance(fixed["train.lr"], float)


def test_a_sweep_file_string_that_looks_like_a_number_is_warned_about(tmp_path, capsys):
    path = tmp_path / "sweep.yaml"
    path.write_text("method: grid\nparameters:\n  lr:\n    values: [1e-3, 1.0e-2]\n"
                    "  wd:\n    value: 5e-4\n")
    config = SweepConfig.load(path)
    err = capsys.readouterr().err
    assert config.raw["parameters"]["lr"]["values"] == ["1e-3", 0.01]  # as W&B reads it (PyYAML)
    assert "lr" in err and "'1e-3'" in err and "1.0e-3" in err
    assert "wd" in err and "5.0e-4" in err
    assert len(err.strip().splitlines()) == 2
