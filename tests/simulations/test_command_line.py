"""What the ``python -m simulations`` commands share: the output check and the progress bar."""

import pytest

from simulations.__main__ import main
from simulations.command_line import output_problem, progress_bar


@pytest.mark.parametrize("command", ["report", "sweep"])
def test_every_command_checks_its_output_folder_alike(tmp_path, capsys, command):
    out = tmp_path / "missing" / "out.file"
    given = {"report": ["--results", str(tmp_path / "r.json")], "sweep": ["--spec", "s.yaml"]}
    assert main([command, *given[command], "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == output_problem(out)
    assert "does not exist; create it first" in output_problem(out)
    assert "is a folder" in output_problem(tmp_path, "--trials-out")
    assert output_problem(tmp_path / "fine.csv") is None
    assert list(tmp_path.iterdir()) == []  # the probe file is gone


def test_the_progress_bar_is_closed_when_the_work_fails(capsys):
    with pytest.raises(RuntimeError), progress_bar("simulating") as progress:
        progress(0.5, "month 3")
        raise RuntimeError("stop")
    err = capsys.readouterr().err
    assert "simulating, month 3:  50%" in err and err.endswith("\n")
    with progress_bar("simulating", quiet=True) as progress:
        progress(1.0, "done")
    assert capsys.readouterr().err == ""
