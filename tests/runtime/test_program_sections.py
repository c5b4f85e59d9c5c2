"""supervisord program sections as generated: supervisord reads back exactly the values given,
and a value that could break out (a newline, a carriage return, an inline comment ' ;' or
' #', a quote it cannot hold) is refused naming the field (issue 18, item 11)."""
from __future__ import annotations

from pathlib import Path

import pytest
from supervisor.datatypes import dict_of_key_value_pairs
from supervisor.options import UnhosedConfigParser

from nebhx import BrickFailed
from nebhx.runtime.process import ProgramSpec
from nebhx.runtime.supervisor import launch_line, render_program


def read_back(text: str, name: str) -> dict:
    parser = UnhosedConfigParser()
    parser.read_string(text)
    section = f"program:{name}"
    raw = {k: parser.get(section, k) for k in parser.options(section)}
    out = {k: v.replace("%%", "%") for k, v in raw.items()}
    out["environment"] = dict_of_key_value_pairs(out.get("environment", "")) if "environment" in out else {}
    return out


def test_what_is_accepted_reads_back_as_given(tmp_path):
    env = {"GREETING": "50% off, 'today' only", "QUOTED": 'say "hi" now', "EMPTY": "", "SEMI": "a;b",
           "HASH": "#1 in town", "URL": "postgresql://u:p@db/x?a=1&b=2"}
    spec = ProgramSpec(name="web-a", command="sh -c 'echo 100%;exec sleep 60'", cwd=str(tmp_path / "rel 1"),
                       env=env)
    back = read_back(render_program(spec, tmp_path / "logs"), "web-a")
    # The program starts through the launcher (runtime/launch.py), then exactly its command.
    assert back["command"] == f"{launch_line(spec)} {spec.command}" and back["directory"] == spec.cwd
    assert back["environment"] == env


@pytest.mark.parametrize("field,spec", [
    ("command", dict(command="sleep 60\n[program:evil]\ncommand=id")),
    ("command", dict(command="sleep 60\rcommand=id")),
    ("command", dict(command="sh -c 'sleep 1 ; id'")),
    ("command", dict(command="sleep 60 # note")),
    ("cwd", dict(cwd="/srv/app\ncommand=id")),
    ("cwd", dict(cwd="/srv/app ;x")),
    ("env", dict(env={"A": "x\ny"})),
    ("env", dict(env={"A": "x\ry"})),
    ("env", dict(env={"A": "x ;y"})),
    ("env", dict(env={"A": "it's \"both\""})),
    ("env", dict(env={"A": "'quoted'"})),
    ("env", dict(env={"A": "ends with a quote\""})),
    ("env", dict(env={"A B": "x"})),
    ("name", dict(name="web]\n[program:evil")),
])
def test_a_value_that_could_break_out_is_refused_naming_its_field(tmp_path, field, spec):
    full = {"name": "web", "command": "sleep 60", **spec}
    with pytest.raises(BrickFailed, match=field):
        render_program(ProgramSpec(**full), Path(tmp_path / "logs"))
