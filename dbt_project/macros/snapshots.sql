{#
  The input of a check snapshot of a stamped model (every row carries the `ledger_seq` of the build that wrote it):
  the rows written since the snapshot last captured a version, and those of that same change number (a row the
  as-of date alone rewrote keeps its number). A check snapshot compares each input row with its current version and
  leaves the keys it is not given alone, so comparing only these rows records the same history as comparing every
  row, without reading the whole model each day. Not for a snapshot that invalidates hard deletes (snp_dms__staff):
  a key missing from its input would close its current version.
#}
{% macro rows_written_since_last_snapshot() -%}
    {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) if execute else none -%}
    {%- if existing -%}
        where ledger_seq >= (select coalesce(max(ledger_seq), 0) from {{ this }})
    {%- endif -%}
{%- endmacro %}
