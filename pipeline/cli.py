"""The `jianbao` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .normalize import NormalizeError, normalize, normalize_file


def _clean(args: argparse.Namespace) -> int:
    if args.path == "-":
        result = normalize(sys.stdin.buffer.read(), source="<stdin>")
    else:
        path = Path(args.path)
        if not path.is_file():
            raise NormalizeError(f"{path}: no such file; give a text or HTML file, or - for stdin")
        result = normalize_file(path)
    sys.stdout.write(result.text + "\n")
    if args.offsets:
        Path(args.offsets).write_text(result.offsets_json(), encoding="utf-8")
    if args.notes:
        sys.stdout.flush()
        for note in result.notes:
            print(note, file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jianbao", description="Information extraction from Chinese government bulletins.")
    sub = parser.add_subparsers(dest="command", required=True)
    clean = sub.add_parser("clean", help="print the normalized text of one article",
                           description="Decode, extract, repair and normalize one scraped article.")
    clean.add_argument("path", help="a .txt or .html file in any common Chinese encoding, or - for stdin")
    clean.add_argument("--offsets", metavar="FILE",
                       help="write JSON {encoding, offsets}: for each output character its [start, end) in the decoded input")
    clean.add_argument("--notes", action="store_true", help="list the repairs made on stderr")
    clean.set_defaults(func=_clean)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except NormalizeError as e:
        print(f"jianbao {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
