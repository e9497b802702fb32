"""python -m chapters: the table of contents lists every shared flag and stops quietly when its pipe closes."""

import os
import re
import subprocess
import sys

from chapters import __main__ as table_of_contents
from chapters import all_chapters
from tests.helpers import REPO


def test_the_flags_listed_are_every_flag_the_chapters_share(capsys):
    table_of_contents.main()
    listed = set(re.findall(r"--[a-z][a-z-]+", capsys.readouterr().out.split("common options", 1)[1]))
    shared = set()
    for chapter in all_chapters():  # every flag of a chapter's --help, less the chapter's own and --help
        own = {flag for flags, _ in chapter.options for flag in flags}
        shared |= set(re.findall(r"--[a-z][a-z-]+", chapter.parser().format_help())) - own - {"--help"}
    assert {"--jit-compile", "--steps-per-execution", "--mixed-precision", "--distribute"} <= shared
    assert listed >= shared


def test_a_closed_pipe_ends_it_without_a_traceback():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen([sys.executable, "-m", "chapters"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # as `| head` does once it has its lines: every write from now on meets a closed pipe
    _, errors = process.communicate(timeout=120)
    assert "Traceback" not in errors and "BrokenPipeError" not in errors
    assert process.returncode in (0, 1)
