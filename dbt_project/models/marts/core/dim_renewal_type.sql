select
    renewal_type,
    renewal_type_name,
    description
from {{ ref('renewal_types') }}
