"""Known Jinja2 sandbox-escape payloads, shared by the tests of every template entry point.

Each payload tries to create the file MARKER (replaced by a real path) or to leak a
Python internal into its output; ``effect`` says which, so a test can prove the payload
is real by running it unsandboxed, then prove that no entry point lets it through.
"""
from __future__ import annotations

from pathlib import Path

TOUCH = "popen('touch MARKER').read()"
# os._wrap_close is a subclass of object whose __init__ sees the os module's globals.
WRAP_CLOSE = ("{% for c in BASE.__subclasses__() %}{% if c.__name__ == '_wrap_close' %}"
              "{{ c.__init__.__globals__['popen']('touch MARKER').read() }}"
              "{% endif %}{% endfor %}")

# (id, template, effect): "marker" creates MARKER, "leak" renders a function's repr,
# "flask" only works where Flask adds config/request, "hang" would run for hours.
PAYLOADS: list[tuple[str, str, str]] = [
    ("cycler-globals", "{{ cycler.__init__.__globals__.os." + TOUCH + " }}", "marker"),
    ("joiner-globals", "{{ joiner.__init__.__globals__.os." + TOUCH + " }}", "marker"),
    ("namespace-globals", "{{ namespace.__init__.__globals__.os." + TOUCH + " }}", "marker"),
    ("lipsum-globals", "{{ lipsum.__globals__.os." + TOUCH + " }}", "marker"),
    ("str-mro-subclasses", WRAP_CLOSE.replace("BASE", "''.__class__.__mro__[1]"), "marker"),
    ("tuple-bases-subclasses", WRAP_CLOSE.replace("BASE", "().__class__.__bases__[0]"), "marker"),
    ("attr-filter", "{{ (cycler|attr('__init__')|attr('__globals__'))['os']." + TOUCH + " }}",
     "marker"),
    ("str-format", "{{ '{0.__init__.__globals__[os].popen}'.format(cycler) }}", "leak"),
    ("percent-format",
     "{{ '%s'|format(lipsum.__globals__.os." + TOUCH + ") }}", "marker"),
    ("self-globals", "{{ self.__init__.__globals__.__builtins__.__import__('os')."
     + TOUCH + " }}", "marker"),
    ("range-init", "{{ range.__init__.__globals__.traceback.sys.modules.os." + TOUCH + " }}",
     "marker"),
    ("flask-config", "{{ config.__class__.__init__.__globals__['os']." + TOUCH + " }}", "flask"),
    ("flask-request", "{{ request.application.__globals__.__builtins__.__import__('os')."
     + TOUCH + " }}", "flask"),
    ("huge-range", "{% for i in range(10**9) %}{% endfor %}done", "hang"),
    ("nested-range", "{% for i in range(100000) %}{% for j in range(100000) %}"
     "{% endfor %}{% endfor %}done", "hang"),
    ("huge-repeat", "{{ ('x' * 10**10)|length }}", "hang"),
]
IDS = [p[0] for p in PAYLOADS]


def armed(template: str, marker: Path) -> str:
    """The payload aimed at ``marker``."""
    return template.replace("MARKER", str(marker))
