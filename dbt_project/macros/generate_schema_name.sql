{# Models land in exactly the schema their folder names (raw, staging, intermediate, marts), not "public_staging". #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
