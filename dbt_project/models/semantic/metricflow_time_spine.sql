-- MetricFlow's daily time spine: the days of the warehouse calendar (dim_date), one row each.
{{ config(materialized='view', schema='marts') }}

select date_day
from {{ ref('dim_date') }}
