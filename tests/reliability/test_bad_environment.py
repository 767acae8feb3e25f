"""A bad environment around the records: invalid ``EXPTRACK_PARAMS``, an experiments directory that
is read-only, ``--dir`` naming a file. One line each naming the problem, exit code 2, no traceback,
nothing written."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ..conftest import assert_one_line_error, run_cli
from ..sweep_helpers import make_project
from .helpers import count, snapshot, tree_diff

INIT = "import exptrack\nwith exptrack.init(experiment='e') as run:\n    run.log({'x': 1.0})\n"


@pytest.mark.parametrize("value", ["{lr: 0.1", "[1, 2]", "0.1"])
def test_invalid_exptrack_params_is_one_line_from_a_training_script(workdir, value):
    (workdir / "experiments").mkdir()
    before = snapshot(workdir)
    proc = subprocess.run([sys.executable, "-c",
                           "import sys, exptrack\nfrom exptrack_core.errors import ExptrackError\n"
                           "try:\n" + "".join("    " + l + "\n" for l in INIT.splitlines()) +
                           "except ExptrackError as e:\n    sys.exit(f'error: {e}')\n"],
                          cwd=workdir, env={**os.environ, "EXPTRACK_PARAMS": value},
                          capture_output=True, text=True, timeout=60)
    count("bad inputs")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "EXPTRACK_PARAMS" in proc.stderr
    assert "expected a JSON object" in proc.stderr
    assert tree_diff(before, snapshot(workdir)) == []


@pytest.mark.parametrize("command", [["runs"], ["sweeps"], ["show", "abc"], ["compare"],
                                     ["sweep", "--trials", "1", "--yes"]])
def test_dir_naming_a_file_is_refused_by_every_command(workdir, command):
    make_project(workdir)
    (workdir / "notes.txt").write_text("not a directory")
    before = snapshot(workdir)
    proc = run_cli(*command, "--dir", "notes.txt", cwd=workdir)
    count("bad inputs")
    assert_one_line_error(proc, "'notes.txt' is not a directory")
    assert tree_diff(before, snapshot(workdir)) == []


@pytest.fixture
def read_only_dir(workdir):
    """A really read-only file system (chmod does not stop root): a tmpfs mounted ro."""
    path = workdir / "ro"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
        return
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro", "tmpfs", str(path)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a read-only file system here")
    yield path
    subprocess.run(["umount", str(path)], check=True)


def test_a_read_only_experiments_directory_is_one_line(workdir, read_only_dir):
    make_project(workdir)
    proc = run_cli("sweep", "--trials", "1", "--yes", "--dir", "ro", cwd=workdir)
    count("faults")
    assert_one_line_error(proc, "cannot write ro/")  # "Read-only file system" / "Permission denied"
