"""One rule for labels, wherever they come from: a label is stored only when a selector can name it."""
from __future__ import annotations

import subprocess
import sys

import pytest

from nebhx.bricks.inventory import parse_labels, parse_selector


def test_labels_parse_and_every_parsed_label_is_selectable():
    labels = parse_labels(["role=web", "zone=eu-1/a", "canary=", "k8s.io/arch=amd64"])
    assert labels == {"role": "web", "zone": "eu-1/a", "canary": "", "k8s.io/arch": "amd64"}
    for key, value in labels.items():
        parse_selector(f"{key}={value}" if value else key)


@pytest.mark.parametrize("pair", ["role", "=web", "bad key=x", "role=a b", "zone=[bold]a", "-x=1",
                                  "k=" + "v" * 201, "k" * 101 + "=v", "role=web\n"])
def test_a_pair_that_is_not_a_label_is_refused_naming_it(pair):
    with pytest.raises(ValueError) as e:
        parse_labels(["ok=1", pair])
    assert repr(pair) in str(e.value) and "key=value" in str(e.value)


def test_nebhx_up_refuses_a_bad_label_before_starting_anything(tmp_path):
    res = subprocess.run([sys.executable, "-m", "nebhx.cli.main", "up", "--label", "role=web", "--label", "zone a"],
                         capture_output=True, text=True, timeout=60,
                         env={"NEBHX_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "COLUMNS": "200"})
    assert res.returncode == 2, res.stdout + res.stderr
    assert "--label: label 'zone a' is not key=value" in res.stdout + res.stderr
    assert not (tmp_path / "mail").exists() and not list(tmp_path.glob("*.db"))
