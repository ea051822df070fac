"""A deterministic, plausible dealer-group world: stores, staff, customers, vehicles and what happens to them.

The world is built first as plain records; `exports.py` then writes each feed in its exact layout.
Everything is drawn from one seeded `random.Random`, anchored on the as-of date, so the same seed,
scale and as-of date always give byte-identical exports.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from samples.renewal_ops import add_win_backs

VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # VINs never use I, O or Q
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红春梅海波宇浩然欣怡子轩雨泽"
BRANDS = [
    ("大众", "帕萨特", "2025款 330TSI 豪华版", 209_900, False),
    ("大众", "ID.4 CROZZ", "2025款 PRIME", 199_900, True),
    ("丰田", "凯美瑞", "2025款 2.0E 精英版", 179_800, False),
    ("丰田", "bZ3", "2025款 长续航", 169_800, True),
    ("本田", "雅阁", "2025款 260TURBO", 169_900, False),
    ("比亚迪", "汉 EV", "2025款 荣耀版", 209_800, True),
]
INSURERS = ("PICC", "PAIC", "CPIC")
DEPARTMENT_SIZES = {"保险部": 4, "销售部": 4, "售后部": 3, "洗车部": 1, "美容部": 1, "快修部": 1, "客服部": 1}
POSITIONS = {
    "保险部": "续保专员",
    "销售部": "销售顾问",
    "售后部": "服务顾问",
    "洗车部": "洗车主管",
    "美容部": "美容技师",
    "快修部": "快修技师",
    "客服部": "回访专员",
}
LOST_REASONS = ("价格", "价格", "他处投保", "服务", "车辆出售", "联系不上", "其他")
LEAD_DEPARTMENTS = ("洗车部", "美容部", "快修部", "售后部", "展厅")
RENEWAL_PROBABILITY = 0.68
NEW_CAR_INSURED_PROBABILITY = 0.72


def add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    month += 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def term_end(start: date) -> date:
    return add_months(start, 12) - timedelta(days=1)


@dataclass
class Staff:
    staff_id: str
    name: str
    store: str
    department: str
    hired: date
    left: date | None = None
    moved_from: str | None = None  # store in the older roster snapshot

    def employed_on(self, day: date) -> bool:
        return self.hired <= day and (self.left is None or day <= self.left)


@dataclass
class Customer:
    customer_id: str
    name: str
    kind: str
    gender: str
    birth: date | None
    phone: str
    id_number: str
    city: str
    job: str
    created: date
    store: str
    source: str


@dataclass
class Vehicle:
    vin: str
    plate: str | None
    engine_no: str
    customer: Customer
    store: str
    model: tuple
    price: int


@dataclass
class Policy:
    insurer: str
    policy_no: str
    vehicle: Vehicle
    store: str
    staff: str
    sign: date
    start: date
    end: date
    lines: dict[str, int]  # coverage code -> premium in cents (incl. VAT)
    rates: dict[str, float]  # coverage code -> commission rate
    tax: int  # vehicle tax in cents (compulsory policies only)
    business: str  # new / renewal / transfer
    previous_policy_no: str | None = None
    transactions: list[Transaction] = field(default_factory=list)

    @property
    def compulsory_only(self) -> bool:
        return set(self.lines) == {"CTP"}


@dataclass
class Transaction:
    txn_no: str
    kind: str  # endorsement / cancellation
    sign: date
    lines: dict[str, int]  # signed premium deltas in cents


@dataclass
class Sale:
    order_no: str
    store: str
    staff: str
    vehicle: Vehicle
    ordered: date
    delivered: date | None
    status: str
    price: int
    loan: bool


@dataclass
class RepairOrder:
    ro_no: str
    store: str
    vehicle: Vehicle
    opened: date
    settled: date | None
    kind: str
    labour: int
    parts: int
    advisor: str
    claim: Claim | None = None


@dataclass
class Claim:
    claim_no: str
    policy: Policy
    occurred: date
    reported: date
    estimate: int
    paid: int | None
    status: str
    recommended_store: str | None


@dataclass
class Followup:
    record_no: str
    vin: str
    policy_no: str
    day: date
    channel: str
    staff: str
    result: str
    lost_reason: str | None
    quote: int | None


@dataclass
class Lead:
    lead_no: str
    day: date
    store: str
    department: str
    referrer: str
    vehicle: Vehicle
    wanted: str
    note: str


@dataclass
class Survey:
    survey_no: str
    day: date
    store: str
    staff: str
    business: str
    score: int
    complaint: bool


@dataclass
class Target:
    month: date
    store: str
    staff: str | None
    premium: int
    policies: int
    renewal_rate: float
    penetration_rate: float
    retention_rate: float


@dataclass
class World:
    as_of: date
    start: date
    stores: list[str]
    staff: list[Staff]
    customers: list[Customer]
    vehicles: list[Vehicle]
    policies: list[Policy]
    sales: list[Sale]
    repair_orders: list[RepairOrder]
    claims: list[Claim]
    followups: list[Followup]
    leads: list[Lead]
    surveys: list[Survey]
    targets: list[Target]


class WorldBuilder:
    def __init__(self, as_of: date, stores: int, months: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.start = add_months(as_of.replace(day=1), -months)
        self.stores = [f"S{i:02d}" for i in range(1, stores + 1)]
        self.counters: dict[str, int] = {}
        self.staff: list[Staff] = []
        self.customers: list[Customer] = []
        self.vehicles: list[Vehicle] = []
        self.policies: list[Policy] = []
        self.sales: list[Sale] = []
        self.repair_orders: list[RepairOrder] = []
        self.claims: list[Claim] = []
        self.followups: list[Followup] = []
        self.leads: list[Lead] = []
        self.surveys: list[Survey] = []
        self.targets: list[Target] = []

    # ---- small helpers -------------------------------------------------------------------------
    def next_id(self, kind: str) -> int:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return self.counters[kind]

    def day_between(self, first: date, last: date) -> date:
        span = (last - first).days
        return first + timedelta(days=self.rng.randint(0, max(span, 0)))

    def person_name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.randint(1, 2)))

    def phone(self) -> str:
        return "1" + self.rng.choice("3456789") + "".join(self.rng.choice("0123456789") for _ in range(9))

    def vin(self) -> str:
        wmi = self.rng.choice(("LSV", "LFV", "LVG", "LHG", "LGX"))
        return wmi + "".join(self.rng.choice(VIN_ALPHABET) for _ in range(14))

    def plate(self) -> str:
        return "粤B" + "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(5))

    def insurance_staff(self, store: str, day: date) -> Staff:
        candidates = [s for s in self.staff if s.store == store and s.department == "保险部" and s.employed_on(day)]
        return self.rng.choice(candidates or [s for s in self.staff if s.store == store and s.department == "保险部"])

    def dept_staff(self, store: str, department: str) -> Staff:
        return self.rng.choice([s for s in self.staff if s.store == store and s.department == department])

    # ---- people and things ---------------------------------------------------------------------
    def build_staff(self) -> None:
        for store in self.stores:
            for department, size in DEPARTMENT_SIZES.items():
                for _ in range(size):
                    number = self.next_id("staff")
                    hired = self.day_between(date(2018, 1, 1), self.start - timedelta(days=30))
                    self.staff.append(Staff(f"E{number:04d}", self.person_name(), store, department, hired))
        insurance = [s for s in self.staff if s.department == "保险部"]
        # One insurance seller left the group four months ago, and a replacement joined.
        leaver = insurance[1]
        leaver.left = add_months(self.as_of, -4)
        number = self.next_id("staff")
        self.staff.append(
            Staff(f"E{number:04d}", self.person_name(), leaver.store, "保险部", leaver.left + timedelta(days=1))
        )
        if len(self.stores) > 1:
            mover = insurance[2]
            mover.moved_from, mover.store = mover.store, self.stores[1]

    def new_customer(self, store: str, created: date, source: str) -> Customer:
        number = self.next_id("customer")
        company = self.rng.random() < 0.06
        birth = (
            None if company else date(self.rng.randint(1965, 2000), self.rng.randint(1, 12), self.rng.randint(1, 28))
        )
        customer = Customer(
            customer_id=f"C{number:06d}",
            name=(self.person_name() + "贸易有限公司") if company else self.person_name(),
            kind="单位" if company else "个人",
            gender="" if company else self.rng.choice(("男", "女")),
            birth=birth,
            phone=self.phone(),
            id_number=(
                f"91440300MA5{number:07d}"
                if company
                else f"440304{birth:%Y%m%d}{self.rng.randint(100, 999)}{self.rng.choice('0123456789X')}"
            ),
            city=self.rng.choice(("深圳", "深圳", "深圳", "东莞", "惠州")),
            job=self.rng.choice(("职员", "教师", "个体经营", "工程师", "医生", "")),
            created=created,
            store=store,
            source=source,
        )
        self.customers.append(customer)
        return customer

    def new_vehicle(self, store: str, created: date, source: str, plated: bool = True) -> Vehicle:
        model = self.rng.choice(BRANDS)
        vehicle = Vehicle(
            vin=self.vin(),
            plate=self.plate() if plated else None,
            engine_no=f"EA{self.rng.randint(10**7, 10**8 - 1)}",
            customer=self.new_customer(store, created, source),
            store=store,
            model=model,
            price=int(model[3] * self.rng.uniform(0.88, 0.98)),
        )
        self.vehicles.append(vehicle)
        return vehicle

    # ---- insurance -----------------------------------------------------------------------------
    def policy_number(self, insurer: str, sign: date, compulsory: bool) -> str:
        number = self.next_id("policy")
        if insurer == "PICC":
            return f"{'PDZA' if compulsory else 'PDAA'}{sign.year}4403{number:010d}"
        if insurer == "PAIC":
            return f"{'1205' if compulsory else '1105'}{sign.year}{number:010d}"
        return f"ASZZ{sign.year}{number:012d}"

    def commercial_lines(self, vehicle: Vehicle) -> dict[str, int]:
        lines: dict[str, int] = {}
        if self.rng.random() < 0.88:
            lines["VD"] = int(vehicle.price * self.rng.uniform(0.011, 0.019) * 100)
        lines["TPL"] = self.rng.choice((76_250, 87_650, 101_020, 125_400))
        if self.rng.random() < 0.7:
            lines["SEAT_DRIVER"] = self.rng.choice((3_600, 4_250, 5_100))
            lines["SEAT_PASSENGER"] = self.rng.choice((9_200, 11_480, 13_700))
        if self.rng.random() < 0.35:
            lines["RIDER"] = self.rng.choice((5_000, 8_800, 12_000))
        return lines

    def sell_term(
        self,
        vehicle: Vehicle,
        store: str,
        sign: date,
        business: str,
        previous: list[Policy] | None = None,
        insurer: str | None = None,
    ) -> list[Policy]:
        """The policies of one term of one vehicle: compulsory, usually commercial too."""
        if insurer is None:
            insurer = self.rng.choice(INSURERS)
        start = sign + timedelta(days=self.rng.randint(0, 3))
        if previous:
            start = previous[0].end + timedelta(days=1)
        staff = self.insurance_staff(store, sign)
        compulsory_only = self.rng.random() < 0.07
        commercial = {} if compulsory_only else self.commercial_lines(vehicle)
        ctp = {"CTP": self.rng.choice((95_000, 95_000, 66_500, 114_000))}
        tax = self.rng.choice((36_000, 42_000, 48_000)) if not vehicle.model[4] else 0
        comm_rate = round(self.rng.choice((0.18, 0.20, 0.22, 0.25)), 2)
        ctp_rate = 0.04
        previous_by_kind = {"CTP" in p.lines: p.policy_no for p in (previous or [])}

        def policy(compulsory: bool, lines: dict[str, int], rate_of, policy_tax: int, previous_no: str | None):
            return Policy(
                insurer,
                self.policy_number(insurer, sign, compulsory),
                vehicle,
                store,
                staff.staff_id,
                sign,
                start,
                term_end(start),
                lines,
                {c: rate_of(c) for c in lines},
                policy_tax,
                business,
                previous_no,
            )

        if insurer == "CPIC":  # one policy number for both, and one commission rate a row
            policies = [
                policy(
                    False, {**ctp, **commercial}, lambda _: comm_rate, tax, previous[0].policy_no if previous else None
                )
            ]
        else:
            policies = [policy(True, ctp, lambda _: ctp_rate, tax, previous_by_kind.get(True))]
            if commercial:
                policies.append(policy(False, commercial, lambda _: comm_rate, 0, previous_by_kind.get(False)))
        for policy in policies:
            self.maybe_transact(policy)
        self.policies.extend(policies)
        return policies

    def maybe_transact(self, policy: Policy) -> None:
        roll = self.rng.random()
        if policy.compulsory_only and policy.insurer != "CPIC":
            return
        if roll < 0.06:  # endorsement: a coverage added or its premium changed
            day = self.day_between(policy.start + timedelta(days=10), policy.start + timedelta(days=120))
            if day <= self.as_of:
                code = self.rng.choice([c for c in policy.lines if c != "CTP"] or ["TPL"])
                delta = self.rng.choice((12_000, 25_050, -8_000, 31_500))
                policy.transactions.append(
                    Transaction(f"{policy.policy_no[:6]}E{self.next_id('txn'):08d}", "endorsement", day, {code: delta})
                )
        elif roll < 0.085:  # cancellation: unearned premium refunded, pro rata by day
            day = self.day_between(policy.start + timedelta(days=20), policy.start + timedelta(days=200))
            if day <= self.as_of:
                term_days = (policy.end - policy.start).days + 1
                unearned = (policy.end - day).days / term_days
                refund = {c: -int(p * unearned) for c, p in policy.lines.items()}
                policy.transactions.append(
                    Transaction(f"{policy.policy_no[:6]}C{self.next_id('txn'):08d}", "cancellation", day, refund)
                )

    def renewal_chain(self, vehicle: Vehicle, store: str, terms: list[Policy]) -> None:
        """Follow a vehicle from term to term: renewed here, or lost with follow-ups that say why."""
        while True:
            main = terms[-1]
            if any(t.kind == "cancellation" for p in terms for t in p.transactions):
                return
            due = main.end
            if due - timedelta(days=60) > self.as_of:
                return
            renewed = self.rng.random() < RENEWAL_PROBABILITY
            sign = due - timedelta(days=self.rng.randint(-5, 45))
            if renewed and sign > self.as_of:
                renewed = False
                outcome_known = False
            else:
                outcome_known = renewed or due + timedelta(days=30) < self.as_of
            self.follow_up(main, due, renewed, outcome_known)
            if not renewed:
                return
            insurer = main.insurer if self.rng.random() < 0.8 else self.rng.choice(INSURERS)
            terms = self.sell_term(vehicle, store, sign, "renewal", previous=terms, insurer=insurer)

    def follow_up(self, main: Policy, due: date, renewed: bool, outcome_known: bool) -> None:
        seller = self.insurance_staff(main.store, min(due - timedelta(days=60), self.as_of))
        calls = sorted({due - timedelta(days=d) for d in self.rng.sample(range(5, 60), self.rng.randint(1, 3))})
        for index, day in enumerate(calls):
            if day > self.as_of:
                break
            last = index == len(calls) - 1
            result = self.rng.choice(("未接通", "有意向", "已报价"))
            reason = None
            if last and renewed:
                result = "已成交"
            elif last and outcome_known and not renewed and self.rng.random() < 0.85:
                result, reason = "战败", self.rng.choice(LOST_REASONS)
            quote = sum(main.lines.values()) if result == "已报价" else None
            self.followups.append(
                Followup(
                    f"F{self.next_id('followup'):08d}",
                    main.vehicle.vin,
                    main.policy_no,
                    day,
                    self.rng.choice(("电话", "电话", "短信", "企业微信", "到店")),
                    seller.staff_id,
                    result,
                    reason,
                    quote,
                )
            )

    # ---- sales, service, claims, leads ---------------------------------------------------------
    def build_sales_and_policies(self) -> None:
        for store in self.stores:
            # The insured book the store already had when the window opens.
            for _ in range(110):
                sign = self.day_between(self.start, add_months(self.start, 12) - timedelta(days=1))
                vehicle = self.new_vehicle(store, sign - timedelta(days=self.rng.randint(400, 2000)), "展厅")
                terms = self.sell_term(vehicle, store, sign, self.rng.choice(("renewal", "transfer")))
                self.renewal_chain(vehicle, store, terms)
            month = self.start
            while month <= self.as_of:
                for _ in range(self.rng.randint(16, 24)):
                    self.sell_car(store, month)
                month = add_months(month, 1)

    def sell_car(self, store: str, month: date) -> None:
        ordered = self.day_between(month, min(add_months(month, 1) - timedelta(days=1), self.as_of))
        vehicle = self.new_vehicle(store, ordered, self.rng.choice(("展厅", "展厅", "网络", "转介绍")), plated=False)
        advisor = self.dept_staff(store, "销售部")
        delivered = ordered + timedelta(days=self.rng.randint(5, 28))
        status = "已交车"
        if self.rng.random() < 0.05:
            status, delivered = "已退订", None
        elif delivered > self.as_of:
            status, delivered = "已订车", None
        self.sales.append(
            Sale(
                f"SO{self.next_id('sale'):08d}",
                store,
                advisor.staff_id,
                vehicle,
                ordered,
                delivered,
                status,
                vehicle.price,
                self.rng.random() < 0.45,
            )
        )
        if delivered and self.rng.random() < NEW_CAR_INSURED_PROBABILITY:
            sign = delivered + timedelta(days=self.rng.randint(-3, 5))
            if sign <= self.as_of:
                terms = self.sell_term(vehicle, store, sign, "new")
                vehicle.plate = self.plate() if self.rng.random() < 0.8 else None
                self.renewal_chain(vehicle, store, terms)

    def build_service(self) -> None:
        insured = {p.vehicle.vin: p.vehicle for p in self.policies}
        walk_ins = [
            self.new_vehicle(store, self.start - timedelta(days=700), "售后")
            for store in self.stores
            for _ in range(40)
        ]
        serviced = [v for v in insured.values() if self.rng.random() < 0.8] + walk_ins
        for vehicle in serviced:
            day = self.start + timedelta(days=self.rng.randint(0, 120))
            while day <= self.as_of:
                kind = self.rng.choice(("保养", "保养", "保养", "一般维修", "洗车", "美容", "快修", "首保"))
                self.repair_order(vehicle, vehicle.store, day, kind)
                day += timedelta(days=self.rng.randint(90, 240))
        for vehicle in walk_ins:  # some walk-ins are converted by a lead from the service departments
            if self.rng.random() < 0.5:
                self.lead(vehicle, self.day_between(self.start, self.as_of))

    def repair_order(
        self, vehicle: Vehicle, store: str, opened: date, kind: str, claim: Claim | None = None
    ) -> RepairOrder:
        labour = {"洗车": 3_000, "美容": 28_000, "快修": 15_000}.get(kind, self.rng.randint(20_000, 90_000))
        parts = 0 if kind in ("洗车", "美容") else self.rng.randint(10_000, 400_000 if claim else 120_000)
        days_open = self.rng.randint(0, 9 if claim else 2)
        settled = opened + timedelta(days=days_open)
        order = RepairOrder(
            f"RO{store}{self.next_id('ro'):08d}",
            store,
            vehicle,
            opened,
            settled if settled <= self.as_of else None,
            kind,
            labour,
            parts,
            self.dept_staff(store, "售后部").staff_id,
            claim,
        )
        self.repair_orders.append(order)
        return order

    def build_claims(self) -> None:
        for policy in list(self.policies):
            if "VD" not in policy.lines or self.rng.random() > 0.14:
                continue
            occurred = self.day_between(policy.start, min(policy.end, self.as_of))
            reported = occurred + timedelta(days=self.rng.randint(0, 2))
            if reported > self.as_of:
                continue
            age = (self.as_of - reported).days
            status = "已结案" if age > 30 else ("已定损" if age > 5 else "已报案")
            if self.rng.random() < 0.05:
                status = "注销"
            estimate = self.rng.randint(150_000, 2_500_000)
            claim = Claim(
                f"RC{policy.insurer}{self.next_id('claim'):09d}",
                policy,
                occurred,
                reported,
                estimate,
                int(estimate * 0.93) if status == "已结案" else None,
                status,
                policy.store if self.rng.random() < 0.8 else None,
            )
            self.claims.append(claim)
            if status == "注销":
                continue
            where = self.rng.random()
            if where < 0.62:
                self.repair_order(
                    policy.vehicle,
                    policy.store,
                    reported + timedelta(days=self.rng.randint(0, 5)),
                    self.rng.choice(("事故维修", "钣喷")),
                    claim,
                )
            elif where < 0.74:  # repaired here, but the repair order does not carry the claim number
                opened = reported + timedelta(days=self.rng.randint(1, 20))
                if opened <= self.as_of:
                    self.repair_order(policy.vehicle, policy.store, opened, "事故维修")

    def lead(self, vehicle: Vehicle, day: date) -> None:
        department = self.rng.choice(LEAD_DEPARTMENTS)
        referrer = self.dept_staff(vehicle.store, "销售部" if department == "展厅" else department)
        self.leads.append(
            Lead(
                f"L{self.next_id('lead'):07d}",
                day,
                vehicle.store,
                department,
                referrer.staff_id,
                vehicle,
                self.rng.choice(("商业险", "交强险+商业险", "交强险")),
                self.rng.choice(("", "客户询价", "保险快到期", "")),
            )
        )
        sign = day + timedelta(days=self.rng.randint(3, 50))
        if self.rng.random() < 0.45 and sign <= self.as_of and not any(p.vehicle is vehicle for p in self.policies):
            terms = self.sell_term(vehicle, vehicle.store, sign, "transfer")
            self.renewal_chain(vehicle, vehicle.store, terms)

    def build_surveys_and_targets(self) -> None:
        for policy in self.policies:
            if self.rng.random() < 0.3:
                day = policy.sign + timedelta(days=self.rng.randint(2, 10))
                if day <= self.as_of:
                    self.surveys.append(
                        Survey(
                            f"V{self.next_id('survey'):07d}",
                            day,
                            policy.store,
                            policy.staff,
                            "保险",
                            self.rng.choice((5, 5, 5, 4, 4, 3, 2)),
                            self.rng.random() < 0.03,
                        )
                    )
        for sale in self.sales:
            if sale.delivered and self.rng.random() < 0.3:
                self.surveys.append(
                    Survey(
                        f"V{self.next_id('survey'):07d}",
                        sale.delivered,
                        sale.store,
                        sale.staff,
                        "销售",
                        self.rng.choice((5, 4, 4, 3)),
                        False,
                    )
                )
        month = self.start
        while month <= self.as_of:
            for store in self.stores:
                sold = sum(
                    sum(p.lines.values())
                    for p in self.policies
                    if p.store == store and p.sign.year == month.year and p.sign.month == month.month
                )
                count = sum(
                    1
                    for p in self.policies
                    if p.store == store and (p.sign.year, p.sign.month) == (month.year, month.month)
                )
                premium_target = max(round(sold * self.rng.uniform(0.9, 1.15) / 100, -3), 100_000) * 100
                self.targets.append(Target(month, store, None, int(premium_target), max(count, 10), 0.70, 0.75, 0.80))
                sellers = [
                    s for s in self.staff if s.store == store and s.department == "保险部" and s.employed_on(month)
                ]
                for seller in sellers:
                    self.targets.append(
                        Target(
                            month,
                            store,
                            seller.staff_id,
                            int(premium_target / len(sellers)),
                            max(count // len(sellers), 3),
                            0.70,
                            0.75,
                            0.80,
                        )
                    )
            month = add_months(month, 1)

    def build(self) -> World:
        self.build_staff()
        self.build_sales_and_policies()
        self.build_service()
        self.build_claims()
        self.build_surveys_and_targets()
        add_win_backs(self)  # last: every earlier draw stays as it was
        return World(
            self.as_of,
            self.start,
            self.stores,
            self.staff,
            self.customers,
            self.vehicles,
            self.policies,
            self.sales,
            self.repair_orders,
            self.claims,
            self.followups,
            self.leads,
            self.surveys,
            self.targets,
        )


def build_world(as_of: date, stores: int = 3, months: int = 18, seed: int = 20261120) -> World:
    return WorldBuilder(as_of, stores, months, seed).build()
