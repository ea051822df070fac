{% snapshot snp_vehicles %}
{# SQL, not YAML: its input is the rows written since its own watermark (macros/snapshots.sql) #}
{{
    config(
        schema='snapshots',
        unique_key='vin',
        strategy='check',
        post_hook="{{ record_watermark() }}",
        check_cols=['latest_plate', 'customer_id', 'sold_by_store_code'],
    )
}}

select * from {{ ref('dim_vehicle') }}
{{ rows_written_since_last_snapshot() }}

{% endsnapshot %}
