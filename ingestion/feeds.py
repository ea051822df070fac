"""The feed registry: one declarative spec per feed of the source contract
(docs blocks source_* in dbt_project/docs/source_contract.md).

A spec says how to read the file (format, encoding, delimiter, sheet, header row), which columns it must
have (the exported header, our column name, the type to coerce to), its natural key within a file, and
the row rules whose failure quarantines a row. Readers, coercion and the loader are shared by all feeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl


class Kind(StrEnum):
    TEXT = "text"
    CODE = "code"  # identifiers: trimmed, never empty when required
    DATE = "date"
    DATETIME = "datetime"
    MONEY = "money"  # yuan with 2 decimals; thousands separators allowed
    RATE = "rate"  # `18%` or `0.18`; stored as a fraction in 0..1
    INT = "int"
    VIN = "vin"  # 17 characters, upper-cased, spaces removed
    PLATE = "plate"  # spaces removed; `新车未上牌` means none yet
    FLAG = "flag"  # 是/否 or Y/N
    MONTH = "month"  # `2026-11`, stored as the first day of the month


SQL_TYPES = {
    Kind.TEXT: "text",
    Kind.CODE: "text",
    Kind.DATE: "date",
    Kind.DATETIME: "timestamp",
    Kind.MONEY: "numeric(14,2)",
    Kind.RATE: "numeric(7,4)",
    Kind.INT: "integer",
    Kind.VIN: "text",
    Kind.PLATE: "text",
    Kind.FLAG: "boolean",
    Kind.MONTH: "date",
}


@dataclass(frozen=True)
class Column:
    header: str  # as exported
    name: str  # our column in raw.<feed>
    kind: Kind = Kind.TEXT
    required: bool = False
    values: tuple[str, ...] | None = None  # allowed values, when the export has a fixed set
    personal: bool = False  # personal data: masked outside the roles allowed to see it
    optional: bool = False  # a later export version added it: files without it load, the column left empty


# A row rule: an expression over the coerced frame that is a reason (str) where the row must be
# quarantined and null where the row is fine.
RowRule = Callable[[], pl.Expr]


@dataclass(frozen=True)
class FeedSpec:
    feed_id: str
    description: str
    format: str  # csv | xlsx
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    delivery: str  # delta | snapshot
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: str | None = None
    header_row: int = 0  # zero-based row of the header in a spreadsheet
    rules: tuple[RowRule, ...] = field(default_factory=tuple)

    @property
    def table(self) -> str:
        return f"raw.{self.feed_id}"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def reason_when(condition: pl.Expr, reason: str) -> pl.Expr:
    return pl.when(condition).then(pl.lit(reason)).otherwise(pl.lit(None, dtype=pl.String))


def end_not_before_start(start: str = "start_date", end: str = "end_date") -> RowRule:
    return lambda: reason_when(pl.col(end) < pl.col(start), f"{end} is before {start}")


def sign_matches_transaction(
    cancellation: pl.Expr, issue: pl.Expr, lowest: pl.Expr | None = None, highest: pl.Expr | None = None
) -> RowRule:
    """Premium deltas are signed: an issued policy is never negative, a cancellation never positive.

    Endorsements may go either way. `lowest`/`highest` are the row's smallest and largest premium cell
    (the `premium` column when the feed has one).
    """
    lowest = pl.col("premium") if lowest is None else lowest
    highest = pl.col("premium") if highest is None else highest
    return lambda: (
        pl.when(issue & (lowest < 0))
        .then(pl.lit("negative premium on a non-cancellation row"))
        .when(cancellation & (highest > 0))
        .then(pl.lit("positive premium on a cancellation row"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def packed_detail_sums_to_premium() -> pl.Expr:
    """PICC packs commercial coverages as `车损险:2345.00;三者险(100万):876.50`; they must add up to 保费."""
    items = (
        pl.col("coverage_detail")
        .str.split(";")
        .list.eval(
            pl.element().str.split(":").list.last().str.replace_all(",", "").cast(pl.Decimal(14, 2), strict=False)
        )
    )
    malformed = pl.col("coverage_detail").is_not_null() & (
        ~pl.col("coverage_detail").str.contains(r"^[^:;]+:-?[\d,]+(\.\d+)?(;[^:;]+:-?[\d,]+(\.\d+)?)*$")
    )
    mismatch = pl.col("coverage_detail").is_not_null() & (items.list.sum() != pl.col("premium"))
    return (
        pl.when(malformed)
        .then(pl.lit("险别明细 is not a list of coverage:premium pairs"))
        .when(mismatch)
        .then(pl.lit("险别明细 does not add up to 保费"))
        .when(
            pl.col("policy_class").eq("商业险") & pl.col("coverage_detail").is_null() & pl.col("change_type").is_null()
        )
        .then(pl.lit("商业险 row without 险别明细"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


INSURED = (
    Column("被保险人", "insured_name", personal=True),
    Column("证件号码", "insured_id_number", personal=True),
    Column("联系电话", "insured_phone", personal=True),
)

CPIC_PREMIUMS = ("ctp_premium", "vd_premium", "tpl_premium", "seat_premium", "rider_premium")

FEEDS: dict[str, FeedSpec] = {}


def register(spec: FeedSpec) -> FeedSpec:
    FEEDS[spec.feed_id] = spec
    return spec


register(
    FeedSpec(
        feed_id="insurer_picc",
        description="PICC policies and endorsements, one row per policy or endorsement, GBK CSV",
        format="csv",
        encoding="gbk",
        delivery="delta",
        key=("policy_no", "endorsement_no"),
        columns=(
            Column("保单号", "policy_no", Kind.CODE, required=True),
            Column("批单号", "endorsement_no", Kind.CODE),
            Column("批改类型", "change_type", values=("批改", "退保")),
            Column("险类", "policy_class", required=True, values=("交强险", "商业险")),
            Column("险别明细", "coverage_detail"),
            Column("签单日期", "sign_date", Kind.DATE, required=True),
            Column("起保日期", "start_date", Kind.DATE, required=True),
            Column("终保日期", "end_date", Kind.DATE, required=True),
            Column("车牌号", "plate", Kind.PLATE),
            Column("车架号", "vin", Kind.VIN, required=True),
            *INSURED,
            Column("保费", "premium", Kind.MONEY, required=True),
            Column("车船税", "vehicle_tax", Kind.MONEY),
            Column("手续费比例", "commission_rate", Kind.RATE, required=True),
            Column("出单员工号", "staff_id", Kind.CODE, required=True),
            Column("门店代码", "store_code", Kind.CODE, required=True),
            Column("续保原保单号", "previous_policy_no", Kind.CODE),
        ),
        rules=(
            end_not_before_start(),
            sign_matches_transaction(
                pl.col("change_type").eq("退保").fill_null(False), pl.col("change_type").is_null()
            ),
            packed_detail_sums_to_premium,
        ),
    )
)

register(
    FeedSpec(
        feed_id="insurer_paic",
        description="PAIC policy lines, one row per coverage, XLSX with two title rows",
        format="xlsx",
        sheet="保单明细",
        header_row=2,
        delivery="delta",
        key=("policy_no", "endorsement_no", "coverage_name"),
        columns=(
            Column("保单号码", "policy_no", Kind.CODE, required=True),
            Column("批单号码", "endorsement_no", Kind.CODE),
            Column("业务类型", "business_type", required=True, values=("新保", "续保", "转保", "批改", "退保")),
            Column("险种", "product", required=True, values=("机动车交通事故责任强制保险", "机动车商业保险")),
            Column("险别", "coverage_name", required=True),
            Column("保额", "sum_insured", Kind.MONEY),
            Column("险别保费", "premium", Kind.MONEY, required=True),
            Column("车船税", "vehicle_tax", Kind.MONEY),
            Column("签单日期", "sign_date", Kind.DATE, required=True),
            Column("保险起期", "start_date", Kind.DATE, required=True),
            Column("保险止期", "end_date", Kind.DATE, required=True),
            Column("车牌号码", "plate", Kind.PLATE),
            Column("VIN码", "vin", Kind.VIN, required=True),
            Column("发动机号", "engine_no", Kind.CODE),
            Column("被保险人名称", "insured_name", personal=True),
            Column("被保险人证件号", "insured_id_number", personal=True),
            Column("手机号", "insured_phone", personal=True),
            Column("手续费率", "commission_rate", Kind.RATE, required=True),
            Column("经办人代码", "staff_id", Kind.CODE, required=True),
            Column("机构代码", "store_code", Kind.CODE, required=True),
        ),
        rules=(
            end_not_before_start(),
            sign_matches_transaction(
                pl.col("business_type").eq("退保"), pl.col("business_type").is_in(["新保", "续保", "转保"])
            ),
        ),
    )
)

register(
    FeedSpec(
        feed_id="insurer_cpic",
        description="CPIC policies with wide coverage columns, UTF-8 with BOM, `;` delimited",
        format="csv",
        encoding="utf-8-sig",
        delimiter=";",
        delivery="delta",
        key=("policy_no", "endorsement_no"),
        columns=(
            Column("POLICY_NO", "policy_no", Kind.CODE, required=True),
            Column("ENDORSE_NO", "endorsement_no", Kind.CODE),
            Column("TXN", "txn", required=True, values=("NEW", "REN", "END", "CAN")),
            Column("交强险保费", "ctp_premium", Kind.MONEY),
            Column("车损险保费", "vd_premium", Kind.MONEY),
            Column("三者险保费", "tpl_premium", Kind.MONEY),
            Column("车上人员险保费", "seat_premium", Kind.MONEY),
            Column("附加险保费", "rider_premium", Kind.MONEY),
            Column("车船税", "vehicle_tax", Kind.MONEY),
            Column("手续费率", "commission_rate", Kind.RATE, required=True),
            Column("SIGN_DATE", "sign_date", Kind.DATE, required=True),
            Column("START_DATE", "start_date", Kind.DATE, required=True),
            Column("END_DATE", "end_date", Kind.DATE, required=True),
            Column("PLATE", "plate", Kind.PLATE),
            Column("VIN", "vin", Kind.VIN, required=True),
            Column("OWNER", "insured_name", personal=True),
            Column("OWNER_ID", "insured_id_number", personal=True),
            Column("MOBILE", "insured_phone", personal=True),
            Column("SALES_CODE", "staff_id", Kind.CODE, required=True),
            Column("DEALER_CODE", "store_code", Kind.CODE, required=True),
        ),
        rules=(
            end_not_before_start(),
            sign_matches_transaction(
                pl.col("txn").eq("CAN"),
                pl.col("txn").is_in(["NEW", "REN"]),
                lowest=pl.min_horizontal([pl.col(c).fill_null(0) for c in CPIC_PREMIUMS]),
                highest=pl.max_horizontal([pl.col(c).fill_null(0) for c in CPIC_PREMIUMS]),
            ),
        ),
    )
)

register(
    FeedSpec(
        feed_id="insurer_claims",
        description="Claims from any insurer, XLSX sheet 理赔清单; a claim reappears with a newer status",
        format="xlsx",
        sheet="理赔清单",
        delivery="delta",
        key=("claim_no",),
        columns=(
            Column("报案号", "claim_no", Kind.CODE, required=True),
            Column("保单号", "policy_no", Kind.CODE, required=True),
            Column("保险公司", "insurer_code", Kind.CODE, required=True, values=("PICC", "PAIC", "CPIC")),
            Column("车牌号", "plate", Kind.PLATE),
            Column("车架号", "vin", Kind.VIN, required=True),
            Column("出险时间", "occurred_at", Kind.DATETIME, required=True),
            Column("报案时间", "reported_at", Kind.DATETIME, required=True),
            Column("出险经过", "description"),
            Column("估损金额", "estimated_loss", Kind.MONEY),
            Column("已决赔款", "paid_amount", Kind.MONEY),
            Column("案件状态", "status", required=True, values=("已报案", "已定损", "已结案", "注销")),
            Column("推荐送修门店", "recommended_store_code", Kind.CODE),
        ),
        rules=(end_not_before_start("occurred_at", "reported_at"),),
    )
)

register(
    FeedSpec(
        feed_id="dms_sales",
        description="New-vehicle sales orders (delta)",
        format="csv",
        delivery="delta",
        key=("order_no",),
        columns=(
            Column("订单号", "order_no", Kind.CODE, required=True),
            Column("门店代码", "store_code", Kind.CODE, required=True),
            Column("销售顾问工号", "staff_id", Kind.CODE),
            Column("客户编号", "customer_id", Kind.CODE),
            Column("车架号", "vin", Kind.VIN, required=True),
            Column("品牌", "brand"),
            Column("车系", "series"),
            Column("车型", "model"),
            Column("是否新能源", "is_nev", Kind.FLAG),
            Column("指导价", "list_price", Kind.MONEY),
            Column("成交价", "deal_price", Kind.MONEY),
            Column("付款方式", "payment_method", values=("全款", "贷款")),
            Column("订车日期", "order_date", Kind.DATE, required=True),
            Column("交车日期", "delivery_date", Kind.DATE),
            Column("订单状态", "order_status", required=True, values=("已交车", "已订车", "已退订")),
        ),
        rules=(
            lambda: reason_when(
                pl.col("order_status").eq("已交车") & pl.col("delivery_date").is_null(),
                "order status 已交车 without 交车日期",
            ),
            end_not_before_start("order_date", "delivery_date"),
        ),
    )
)

register(
    FeedSpec(
        feed_id="dms_customers",
        description="Customer register 客户档案 (snapshot)",
        format="csv",
        delivery="snapshot",
        key=("customer_id",),
        columns=(
            Column("客户编号", "customer_id", Kind.CODE, required=True),
            Column("客户名称", "customer_name", personal=True),
            Column("客户类型", "customer_type", values=("个人", "单位")),
            Column("性别", "gender"),
            Column("出生日期", "birth_date", Kind.DATE, personal=True),
            Column("手机号", "phone", personal=True),
            Column("证件号码", "id_number", personal=True),
            Column("城市", "city"),
            Column("职业", "occupation"),
            Column("建档日期", "created_date", Kind.DATE),
            Column("建档门店", "store_code", Kind.CODE),
            Column("客户来源", "source", values=("展厅", "售后", "转介绍", "网络", "车队")),
        ),
    )
)

register(
    FeedSpec(
        feed_id="dms_staff",
        description="Staff roster (snapshot); staff may move store or department between snapshots",
        format="csv",
        delivery="snapshot",
        key=("staff_id",),
        columns=(
            Column("工号", "staff_id", Kind.CODE, required=True),
            Column("姓名", "staff_name", required=True),
            Column("门店代码", "store_code", Kind.CODE, required=True),
            Column(
                "部门",
                "department",
                required=True,
                values=("销售部", "保险部", "售后部", "洗车部", "美容部", "快修部", "客服部"),
            ),
            Column("岗位", "position"),
            Column("入职日期", "hired_date", Kind.DATE),
            Column("离职日期", "left_date", Kind.DATE),
        ),
        rules=(end_not_before_start("hired_date", "left_date"),),
    )
)

register(
    FeedSpec(
        feed_id="dms_followups",
        description="Renewal follow-up log 续保跟进记录 (delta)",
        format="csv",
        delivery="delta",
        key=("record_no",),
        columns=(
            Column("记录编号", "record_no", Kind.CODE, required=True),
            Column("车架号", "vin", Kind.VIN, required=True),
            Column("原保单号", "policy_no", Kind.CODE),
            Column("跟进日期", "followup_date", Kind.DATE, required=True),
            Column("跟进方式", "channel", values=("电话", "短信", "企业微信", "到店")),
            Column("跟进人工号", "staff_id", Kind.CODE),
            Column("跟进结果", "result", required=True, values=("未接通", "有意向", "已报价", "已成交", "战败")),
            Column("战败原因", "lost_reason"),
            Column("报价金额", "quoted_amount", Kind.MONEY),
        ),
    )
)

register(
    FeedSpec(
        feed_id="dms_leads",
        description="Cross-department referrals 意向客户/联动登记 (delta)",
        format="csv",
        delivery="delta",
        key=("lead_no",),
        columns=(
            Column("线索编号", "lead_no", Kind.CODE, required=True),
            Column("登记日期", "lead_date", Kind.DATE, required=True),
            Column("门店代码", "store_code", Kind.CODE, required=True),
            Column(
                "来源部门", "source_department", required=True, values=("洗车部", "美容部", "快修部", "售后部", "展厅")
            ),
            Column("推荐人工号", "referrer_staff_id", Kind.CODE),
            Column("车架号", "vin", Kind.VIN),
            Column("客户编号", "customer_id", Kind.CODE),
            Column("意向险种", "wanted_coverage"),
            Column("备注", "note"),
        ),
    )
)

register(
    FeedSpec(
        feed_id="dms_surveys",
        description="Customer satisfaction callbacks 回访记录 (delta)",
        format="csv",
        delivery="delta",
        key=("survey_no",),
        columns=(
            Column("回访编号", "survey_no", Kind.CODE, required=True),
            Column("回访日期", "survey_date", Kind.DATE, required=True),
            Column("门店代码", "store_code", Kind.CODE, required=True),
            Column("被评价人工号", "staff_id", Kind.CODE),
            Column("业务类型", "business_type", required=True, values=("保险", "销售", "售后")),
            Column("满意度", "score", Kind.INT, required=True),
            Column("投诉", "complaint", Kind.FLAG),
        ),
        rules=(lambda: reason_when(~pl.col("score").is_between(1, 5), "满意度 must be between 1 and 5"),),
    )
)

register(
    FeedSpec(
        feed_id="aftersales_ro",
        description="Repair orders 维修工单 (delta), GBK CSV; open orders reappear when settled",
        format="csv",
        encoding="gbk",
        delivery="delta",
        key=("ro_no",),
        columns=(
            Column("工单号", "ro_no", Kind.CODE, required=True),
            Column("门店代码", "store_code", Kind.CODE, required=True),
            Column("车架号", "vin", Kind.VIN, required=True),
            Column("车牌号", "plate", Kind.PLATE),
            Column("进厂日期", "opened_date", Kind.DATE, required=True),
            Column("结算日期", "settled_date", Kind.DATE),
            Column(
                "业务类型",
                "ro_type",
                required=True,
                values=("首保", "保养", "一般维修", "事故维修", "钣喷", "洗车", "美容", "快修"),
            ),
            Column("工时费", "labour_amount", Kind.MONEY, required=True),
            Column("材料费", "parts_amount", Kind.MONEY, required=True),
            Column("合计金额", "total_amount", Kind.MONEY, required=True),
            Column("服务顾问工号", "advisor_staff_id", Kind.CODE),
            Column("是否保险理赔", "is_insurance_claim", Kind.FLAG),
            Column("理赔保险公司", "claim_insurer_code", Kind.CODE),
            Column("报案号", "claim_no", Kind.CODE),
            # Later DMS versions add these two at the end. The expiry is kept as delivered (text) and cast in
            # staging, so a value that is not a date is a recorded warning, never a lost repair order.
            Column("保险到期日", "insurance_expiry_text", Kind.TEXT, optional=True),
            Column("承保公司", "insurer_named", Kind.TEXT, optional=True),
        ),
        rules=(
            end_not_before_start("opened_date", "settled_date"),
            lambda: reason_when(
                pl.col("labour_amount") + pl.col("parts_amount") != pl.col("total_amount"),
                "合计金额 is not 工时费 + 材料费",
            ),
        ),
    )
)

register(
    FeedSpec(
        feed_id="finance_targets",
        description="Monthly premium, policy and rate targets per store and employee (snapshot), XLSX sheet 目标",
        format="xlsx",
        sheet="目标",
        delivery="snapshot",
        key=("target_month", "store_code", "staff_id"),
        columns=(
            Column("年月", "target_month", Kind.MONTH, required=True),
            Column("门店代码", "store_code", Kind.CODE, required=True),
            Column("工号", "staff_id", Kind.CODE),
            Column("保费目标", "premium_target", Kind.MONEY),
            Column("签单目标", "policy_target", Kind.INT),
            Column("续保率目标", "renewal_rate_target", Kind.RATE),
            Column("新保渗透率目标", "penetration_rate_target", Kind.RATE),
            Column("留修率目标", "retention_rate_target", Kind.RATE),
        ),
    )
)


register(
    FeedSpec(
        feed_id="insurer_settlements",
        description="Commission statements 手续费结算清单 from any insurer, XLSX sheet 结算明细; re-issued corrections",
        format="xlsx",
        sheet="结算明细",
        delivery="delta",
        key=("statement_no", "policy_no", "endorsement_no", "policy_class"),
        columns=(
            Column("结算单号", "statement_no", Kind.CODE, required=True),
            Column("保险公司", "insurer_code", Kind.CODE, required=True, values=("PICC", "PAIC", "CPIC")),
            Column("结算月份", "settlement_month", Kind.MONTH, required=True),
            Column("保单号", "policy_no", Kind.CODE, required=True),
            Column("批单号", "endorsement_no", Kind.CODE),
            Column("险类", "policy_class", required=True, values=("交强险", "商业险")),
            Column("保费", "premium", Kind.MONEY, required=True),
            Column("手续费率", "commission_rate", Kind.RATE, required=True),
            Column("手续费金额", "commission_amount", Kind.MONEY, required=True),
            Column("结算状态", "settlement_status", required=True, values=("已结算", "暂扣", "拒付")),
            Column("备注", "note"),
        ),
    )
)

register(
    FeedSpec(
        feed_id="dms_gifts",
        description="Renewal gift packages handed out 续保礼包发放记录 (delta)",
        format="csv",
        delivery="delta",
        key=("gift_no",),
        columns=(
            Column("发放编号", "gift_no", Kind.CODE, required=True),
            Column("发放日期", "handed_out_date", Kind.DATE, required=True),
            Column("门店代码", "store_code", Kind.CODE, required=True),
            Column("车架号", "vin", Kind.VIN, required=True),
            Column("保单号", "policy_no", Kind.CODE),
            Column("礼包名称", "package_name"),
            Column("礼包成本", "gift_cost", Kind.MONEY, required=True),
            Column("经办人工号", "staff_id", Kind.CODE),
        ),
        rules=(lambda: reason_when(pl.col("gift_cost") < 0, "礼包成本 is negative"),),
    )
)


def export_header(feed_id: str, with_optional: bool = False) -> list[str]:
    """The header row of a feed's export, in the order of the source contract (optional columns of later versions
    only when asked for)."""
    return [column.header for column in FEEDS[feed_id].columns if with_optional or not column.optional]
