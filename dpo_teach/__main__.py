"""``python -m dpo_teach``: print the 0.6 / 0.4 worked example (see :mod:`dpo_teach.worked_example`)."""

from __future__ import annotations

import argparse

from .worked_example import explain


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m dpo_teach",
        description="Print the DPO worked example: one prompt, two answers with policy probabilities "
        "0.6 / 0.4 and reference 0.5 / 0.5; implicit rewards, Bradley-Terry probability, loss and "
        "gradient weight for several beta (arXiv:2305.18290, Eq. 1 and 7).",
        epilog="More: python -m dpo_teach.finetune --help (DPO on a tiny GPT-2), and the notebooks.",
    )
    parser.parse_args(argv)
    print(explain())


if __name__ == "__main__":
    main()
