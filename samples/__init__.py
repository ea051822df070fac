"""Deterministic sample exports for every feed of the source contract (`python -m samples`)."""

from __future__ import annotations

import argparse
import shutil
from datetime import date
from pathlib import Path

from samples.exports import BAD_ROWS, ExportWriter
from samples.money import MoneyExports
from samples.world import World, build_world

__all__ = ["BAD_ROWS", "generate_inbox"]


def generate_inbox(
    inbox: Path, as_of: date, stores: int = 3, months: int = 18, seed: int = 20261120, clean: bool = True
) -> World:
    """Write every feed's exports for `stores` stores over `months` months ending on `as_of`."""
    if clean and inbox.exists():
        shutil.rmtree(inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    world = build_world(as_of, stores=stores, months=months, seed=seed)
    writer = ExportWriter(world, inbox, seed)
    writer.write_all()
    MoneyExports(writer, seed).write_all()
    return world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("inbox", type=Path)
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--stores", type=int, default=3)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--seed", type=int, default=20261120)
    args = parser.parse_args()
    world = generate_inbox(args.inbox, args.as_of, args.stores, args.months, args.seed)
    print(
        f"wrote {sum(1 for _ in args.inbox.rglob('*.*'))} files: {len(world.policies)} policies, "
        f"{len(world.sales)} sales, {len(world.repair_orders)} repair orders, {len(world.claims)} claims"
    )


if __name__ == "__main__":
    main()
