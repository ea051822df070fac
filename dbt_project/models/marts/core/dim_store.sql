-- Every store code the group uses: named in seed `stores`, or seen in the roster, targets or policies.
with seen as (

    select store_code from {{ ref('stores') }}
    union
    select store_code from {{ ref('stg_dms__staff') }}
    union
    select store_code from {{ ref('stg_finance__targets') }}
    union
    select store_code from {{ ref('int_policy_lines_unioned') }}
    union
    select store_code from {{ ref('stg_dms__sales_orders') }}
    union
    select store_code from {{ ref('stg_aftersales__repair_orders') }}

)

select
    seen.store_code,
    coalesce(stores.store_name, seen.store_code) as store_name,
    stores.city,
    stores.brand,
    stores.store_code is not null as is_named
from seen
left join {{ ref('stores') }} as stores on seen.store_code = stores.store_code
where seen.store_code is not null
