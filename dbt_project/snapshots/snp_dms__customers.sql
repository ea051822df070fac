{% snapshot snp_dms__customers %}
{# SQL, not YAML: its input is the rows written since its own watermark (macros/snapshots.sql) #}
{{
    config(
        schema='snapshots',
        unique_key='customer_id',
        strategy='check',
        post_hook="{{ record_watermark() }}",
        check_cols=['customer_name', 'customer_type', 'phone', 'id_number', 'city', 'occupation', 'store_code'],
    )
}}

select * from {{ ref('stg_dms__customers') }}
{{ rows_written_since_last_snapshot() }}

{% endsnapshot %}
