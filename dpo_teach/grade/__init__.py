"""``python -m dpo_teach.grade SUBMISSIONS... [--csv scores.csv]``: grades a teacher can stand behind.

Each submission runs alone in a temporary directory, in a sandboxed kernel (bubblewrap where
installed), under resource limits; each exercise is scored by the original check called by the
grader itself on the answers the student's kernel recorded, never by what the student's notebook
printed. The files, in the order a grading run meets them:

- ``cli``: the command line: submissions (files or folders), the ``--csv`` path checked before
  grading, ``--jobs`` submissions at once;
- ``run``: one submission, cell by cell, each exercise scored right after its check cell;
- ``notebook``: what the grader reads from the source (exercises, check cells rewritten to record
  their answers, library use, the names a cell defines);
- ``sandbox``: the temporary directory, limits and bubblewrap view a kernel gets;
- ``launch``: the launcher between the grader and a kernel (limits, its own session);
- ``kernel``: a Jupyter kernel with a time limit, an output cap and restarts;
- ``helper``: the recorder put into each kernel (``__dpo_grade__``);
- ``codec``: answers as plain data between kernel and grader (no pickle);
- ``verdict``: the check, run in the grader on the recorded answers;
- ``report``: the table and the CSV (statuses, total, flags, feedback; formula-safe cells).

What is and is not protected: docs/teachers.md (linked from the README).
"""

from __future__ import annotations

__all__ = ["CHECKS", "Result", "grade_notebook", "main"]


def __getattr__(name):  # the launcher imports this package: keep it free of torch until asked
    if name in ("CHECKS", "Result"):
        from . import verdict

        return getattr(verdict, name)
    if name == "grade_notebook":
        from .run import grade_notebook

        return grade_notebook
    if name == "main":
        from .cli import main

        return main
    raise AttributeError(name)
