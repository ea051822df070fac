-- Coverages as one conformed list; coverage_group rolls driver/passenger seat cover into SEAT.
select
    coverage_code,
    coverage_name,
    coverage_name_en,
    coverage_class,
    coverage_group,
    clause_set,
    description
from {{ ref('coverages') }}
