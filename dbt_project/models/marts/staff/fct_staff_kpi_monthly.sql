-- 人效 and pay per employee and month. Formulas (docs blocks rule_staff_kpi, rule_tiered_bonus,
-- rule_renewal_commission) are computed in int_staff_kpi_components_computed; a null premium_target marks a
-- missing target (its KPI part counts 0).
select
    staff_id,
    store_code,
    month,
    policies_signed,
    premium::numeric(14, 2) as premium,
    premium_target::numeric(14, 2) as premium_target,
    round(attainment_rate, 4)::numeric(9, 4) as attainment_rate,
    round(satisfaction_avg, 2)::numeric(4, 2) as satisfaction_avg,
    kpi_score::numeric(7, 2) as kpi_score,
    tiered_bonus::numeric(14, 2) as tiered_bonus,
    renewal_commission::numeric(14, 2) as renewal_commission
from {{ ref('int_staff_kpi_components_computed') }}
