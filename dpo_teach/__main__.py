"""``python -m dpo_teach [--lang en|zh]``: print the 0.6 / 0.4 worked example
(see :mod:`dpo_teach.worked_example`), in English or in Chinese."""

from __future__ import annotations

import argparse

from .worked_example import LANGUAGES, explain


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m dpo_teach",
        description="Print the DPO worked example: one prompt, two answers with policy probabilities "
        "0.6 / 0.4 and reference 0.5 / 0.5; implicit rewards, Bradley-Terry probability, loss and "
        "gradient weight for several beta (arXiv:2305.18290, Eq. 1 and 7).",
        epilog="More: python -m dpo_teach.finetune --help (DPO on a tiny GPT-2), and the notebooks.",
    )
    parser.add_argument(
        "--lang",
        default="en",
        metavar="LANG",
        help="language of the printout: en (English, the default) or zh (Chinese)",
    )
    args = parser.parse_args(argv)
    if args.lang not in LANGUAGES:  # one line, not argparse's usage block: the fix is in the line
        parser.exit(2, f"{parser.prog}: error: --lang {args.lang!r} is not a language of this printout; "
                       "use --lang en (English) or --lang zh (Chinese)\n")  # fmt: skip
    text = explain(args.lang)
    try:
        print(text)
    except UnicodeEncodeError as err:  # e.g. a Windows pipe in a legacy code page: say how to fix it
        parser.exit(1, f"{parser.prog}: error: this output's encoding ({err.encoding}) cannot show the "
                       f"--lang {args.lang} text; set PYTHONIOENCODING=utf-8 and run it again\n")  # fmt: skip


if __name__ == "__main__":
    main()
