"""Command macros, expanded into an argv list the way the W&B agent does it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from exptrack_core.errors import ExptrackError
from exptrack_core.sweep.macros import expand_command

PARAMS = {"lr": 0.001, "train.epochs": 3, "augment": False, "mixup": True}


def test_the_default_command_runs_the_program_with_double_dash_flags():
    argv = expand_command(PARAMS, program="train.py").argv
    assert argv == ["/usr/bin/env", sys.executable, "train.py", "--lr=0.001", "--train.epochs=3",
                    "--augment=False", "--mixup=True"]


def test_each_args_flavour_matches_the_wandb_agent():
    cmd = ["run", "${args_no_hyphens}", "|", "${args_no_boolean_flags}", "|", "${args_no_equals}"]
    argv = expand_command(PARAMS, cmd).argv
    assert argv == ["run", "lr=0.001", "train.epochs=3", "augment=False", "mixup=True", "|",
                    "--lr=0.001", "--train.epochs=3", "--mixup", "|",
                    "--lr", "0.001", "--train.epochs", "3", "--augment", "False", "--mixup", "True"]


def test_hydra_flavours_prefix_plus_signs():
    argv = expand_command({"lr": 0.1}, ["${args_append_hydra}", "${args_override_hydra}"]).argv
    assert argv == ["+lr=0.1", "++lr=0.1"]


def test_a_nested_block_is_one_flag_and_a_dotted_name_stays_flat_as_in_wandb():
    argv = expand_command({"opt": {"lr": 0.001}, "train.lr": 2}, ["${args}", "${args_json}"]).argv
    assert argv[:2] == ["--opt={'lr': 0.001}", "--train.lr=2"]
    assert json.loads(argv[2]) == {"opt": {"lr": 0.001}, "train.lr": 2}


def test_an_unknown_whole_token_macro_is_dropped_as_the_agent_drops_it():
    assert expand_command({"lr": 1}, ["run", "${argz}", "${args}"]).argv == ["run", "--lr=1"]


def test_args_json_file_is_written_and_its_path_returned_for_the_caller_to_remove(tmp_path):
    out = expand_command(PARAMS, ["cat", "${args_json_file}"], json_dir=tmp_path)
    assert out.argv == ["cat", str(out.json_file)] and out.json_file.parent == tmp_path
    assert json.loads(out.json_file.read_text()) == {
        "lr": 0.001, "train.epochs": 3, "augment": False, "mixup": True}
    out.json_file.unlink()


def test_envvar_is_replaced_inside_a_token_and_left_as_its_name_when_unset():
    argv = expand_command({}, ["--data=${envvar:DATA_DIR}/x", "${envvar:NOT_SET_ANYWHERE}"],
                          environ={"DATA_DIR": "/data"}).argv
    assert argv == ["--data=/data/x", "NOT_SET_ANYWHERE"]


def test_a_hostile_value_arrives_as_one_literal_argument(tmp_path):
    script = tmp_path / "echo_args.py"
    script.write_text("import json, sys; print(json.dumps(sys.argv[1:]))")
    argv = expand_command({"name": "; touch pwned"}, program=str(script)).argv
    result = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, check=True)
    assert json.loads(result.stdout) == ["--name=; touch pwned"]
    assert not (tmp_path / "pwned").exists()


def test_program_macro_without_a_program_is_an_error():
    with pytest.raises(ExptrackError, match="no program"):
        expand_command({}, ["${interpreter}", "${program}"])


def test_the_interpreter_can_be_chosen():
    assert expand_command({}, ["${interpreter}"], interpreter="python3").argv == ["python3"]


def test_no_temp_file_is_written_unless_asked(tmp_path):
    assert expand_command(PARAMS, ["x", "${args_json}"], json_dir=tmp_path).json_file is None
    assert list(Path(tmp_path).iterdir()) == []
