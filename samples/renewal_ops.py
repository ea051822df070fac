"""Sample-world additions for renewal operations (issue 18).

- Win-backs (挽回): some vehicles whose last term the group lost get a group policy again 45–200 days after their due
  date, so the marts show won-back vehicles. Added after the rest of the world is built, so every earlier random
  draw (and every figure the tests compute from the world) is as before for the rest of the world.
- The two optional columns of later DMS versions on `aftersales_ro` (保险到期日, 承保公司): the last files carry them,
  the earlier ones do not, and one cell in them is not a date (a warning; its repair order still loads).
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from samples.world import Policy, RepairOrder, WorldBuilder

WIN_BACK_SHARE = 0.3
FILES_WITH_INSURANCE_COLUMNS = 6  # the last N monthly aftersales files are of the later DMS version
NOT_A_DATE = "待确认"
INSURER_NAMES = {"PICC": "人保财险", "PAIC": "平安产险", "CPIC": "太平洋产险"}
OTHER_INSURERS = ("人保财险", "平安产险", "太平洋产险", "大地保险", "国寿财险")


def add_win_backs(builder: WorldBuilder) -> None:
    """A share of lost vehicles signs with the group again after the renewal window (by due + 200 days)."""
    latest: dict[str, Policy] = {}
    for policy in builder.policies:
        current = latest.get(policy.vehicle.vin)
        if current is None or policy.end > current.end:
            latest[policy.vehicle.vin] = policy
    for vin in sorted(latest):
        policy = latest[vin]
        if any(t.kind == "cancellation" for t in policy.transactions):
            continue
        due = policy.end
        if due + timedelta(days=45) > builder.as_of or builder.rng.random() >= WIN_BACK_SHARE:
            continue
        sign = due + timedelta(days=builder.rng.randint(45, 200))
        if sign <= builder.as_of:
            builder.sell_term(policy.vehicle, policy.store, sign, "transfer")


class InsuranceCells:
    """保险到期日 and 承保公司 as a service advisor records them at reception (about a third left empty)."""

    def __init__(self, policies: list[Policy]) -> None:
        self.by_vin: dict[str, list[Policy]] = defaultdict(list)
        for policy in policies:
            self.by_vin[policy.vehicle.vin].append(policy)

    def cells(self, order: RepairOrder) -> list[str]:
        rng = random.Random(order.ro_no)
        if rng.random() < 0.3:
            return ["", ""]
        in_force = [p for p in self.by_vin.get(order.vehicle.vin, []) if p.start <= order.opened <= p.end]
        if in_force:
            policy = max(in_force, key=lambda p: p.end)
            expiry, insurer = policy.end, INSURER_NAMES.get(policy.insurer, policy.insurer)
        else:  # insured elsewhere: a term that renews on the same day every year
            own = random.Random(order.vehicle.vin)
            day_of_year = own.randint(0, 364)
            year = 2020
            expiry = date(year, 1, 1) + timedelta(days=day_of_year)
            while expiry < order.opened:  # the same day of the year, one year on
                year += 1
                expiry = date(year, 1, 1) + timedelta(days=day_of_year)
            insurer = own.choice(OTHER_INSURERS)
        written = f"{expiry.year}/{expiry.month}/{expiry.day}" if rng.random() < 0.3 else expiry.isoformat()
        return [written, insurer]


def with_insurance_columns(file_index: int, file_count: int) -> bool:
    return file_index >= file_count - FILES_WITH_INSURANCE_COLUMNS


def plant_not_a_date(rows: list[list[str]], file_index: int, file_count: int) -> None:
    """One 保险到期日 in the second-to-last file is not a date: a recorded warning, the repair order still loads."""
    if file_index != file_count - 2:
        return
    for row in rows:
        if row[-2]:
            row[-2] = NOT_A_DATE
            return
