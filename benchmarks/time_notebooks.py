"""Measure each notebook's full-size run time: ``python benchmarks/time_notebooks.py [--only 01 05]``.

Executes every top-level notebook (``notebooks/NN_*.ipynb``) at full size in a fresh kernel
(``nbclient``; outputs kept in memory only, the files on disk are not touched) and records the
wall time, with the machine's load average before and after, in ``results/notebook_times.json``
(written atomically; notebooks not run this time keep their earlier record). The course map
(notebook 00, :func:`dpo_teach.course.notebook_minutes`) and the README read these numbers.

A time measured beside other work is inflated: the record keeps the load so a reader can tell.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "results" / "notebook_times.json"
sys.path.insert(0, str(REPO))

from dpo_teach.files import atomic_write_text  # noqa: E402


def run_one(path: Path) -> float:
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=3600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})  # fmt: skip
    old = os.environ.pop("DPO_TEACH_FAST", None)  # full size: the kernel inherits this environment
    try:
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start
    finally:
        if old is not None:
            os.environ["DPO_TEACH_FAST"] = old


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", default=None, metavar="NN", help="notebook numbers to run")
    args = parser.parse_args(argv)
    paths = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        paths = [p for p in paths if p.name[:2] in args.only]
    record = json.loads(OUT.read_text()) if OUT.is_file() else {"notebooks": {}}
    for path in paths:
        load_before = os.getloadavg()[0]
        seconds = run_one(path)
        record["notebooks"][path.name[:2]] = {
            "notebook": path.name, "seconds": round(seconds, 1),
            "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
        }  # fmt: skip
        record["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(),
                             "python": platform.python_version()}  # fmt: skip
        OUT.parent.mkdir(exist_ok=True)
        atomic_write_text(OUT, json.dumps(record, indent=1, sort_keys=True) + "\n")
        print(f"{path.name}: {seconds:.1f} s (load {load_before:.2f})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
