select
    insurer_code,
    insurer_name,
    insurer_name_en
from {{ ref('insurers') }}
