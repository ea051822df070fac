{#
  The input of a check snapshot of a stamped model (every row carries the `ledger_seq` of the build that wrote it):
  the rows written since the snapshot's last run. The snapshot records its own watermark (record_watermark as a
  post-hook), so rows written on a day it did not run (its upstream failed) are read on the next one.
  A row the as-of date alone rewrote, on a day no batch arrived, keeps the ledger's current number: so the rows of
  the current number are read too, and the rows of the watermark's number when the snapshot's last run was not for
  the day before (or the same day).
  A check snapshot compares each input row with its current version and leaves the keys it is not given alone, so
  comparing only these rows records the same history as comparing every row. Not for a snapshot that invalidates
  hard deletes (snp_dms__staff): a key missing from its input would close its current version.
#}
{% macro rows_written_since_last_snapshot() -%}
    {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) if execute else none -%}
    {%- if existing -%}
        where ledger_seq > {{ watermark() }}
            or ledger_seq = {{ ledger_seq_now() }}
            or (
                ledger_seq = {{ watermark() }}
                and {{ watermark_as_of() }} not between {{ as_of_date() }} - 1 and {{ as_of_date() }}
            )
    {%- endif -%}
{%- endmacro %}
