-- Warnings of the loads that kept the row: a cell that could not be typed was left empty and the row loaded
-- (aftersales_ro's optional 保险到期日 that is not a date). Each names the file, the line and the value as delivered;
-- the weekly report lists them in its data-quality section.
select
    'aftersales_ro' as feed,
    source_file,
    source_row_number,
    '保险到期日' as column_header,
    insurance_expiry_text as cell_value,
    ro_no,
    store_code,
    exported_on,
    '保险到期日 is not a date: left empty, the repair order loaded' as message
from {{ ref('stg_aftersales__insurance_records') }}
where insurance_expiry_text is not null and insurance_expiry_date is null
