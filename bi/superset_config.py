"""Superset's configuration for `make bi` (read by Superset through SUPERSET_CONFIG_PATH; runs in .venv-bi).

Everything comes from the environment that pipeline/bi.py sets: DW_BI_HOME (metadata SQLite and state),
DW_BI_SECRET_KEY_FILE (generated once, mode 0600) and DW_BI_LOGINS_FILE (which Superset user signs in to the
warehouse as which login, and the file holding that login's password).

Row-level security stays in the warehouse: every query a user runs opens its connection as that user's warehouse
login (DB_CONNECTION_MUTATOR), so a store manager's charts are read as the store manager's own login, and
PostgreSQL's policies (ops.store_managers) filter the rows. Everyone else reads as bi_reader. Results are not
cached (NullCache, and per-user cache keys), so no user is ever shown rows fetched for another.
"""

import json
import os
from pathlib import Path

_home = Path(os.environ["DW_BI_HOME"])
SECRET_KEY = Path(os.environ["DW_BI_SECRET_KEY_FILE"]).read_text().strip()
SQLALCHEMY_DATABASE_URI = f"sqlite:///{_home / 'superset.db'}"
DATA_DIR = str(_home)
UPLOAD_FOLDER = str(_home / "uploads")
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
FEATURE_FLAGS = {"CACHE_QUERY_BY_USER": True, "DASHBOARD_RBAC": False}
RATELIMIT_STORAGE_URI = "memory://"
SUPERSET_WEBSERVER_TIMEOUT = 120
BABEL_DEFAULT_LOCALE = "zh"
LANGUAGES = {"zh": {"flag": "cn", "name": "简体中文"}, "en": {"flag": "us", "name": "English"}}
PREVENT_UNSAFE_DB_CONNECTIONS = True
# the local tool only: one machine, served on 127.0.0.1
TALISMAN_ENABLED = False
SESSION_COOKIE_SAMESITE = "Lax"
STORE_MANAGER_ROLE = "StoreManager"


def _logins() -> dict:
    path = Path(os.environ["DW_BI_LOGINS_FILE"])
    return json.loads(path.read_text()) if path.exists() else {}


def DB_CONNECTION_MUTATOR(uri, params, username, security_manager, source):
    """Connect as the warehouse login of the Superset user (store managers), else as the connection's bi_reader."""
    login = _logins().get(username or "")
    user = security_manager.find_user(username=username) if username else None
    if not login and user and any(role.name == STORE_MANAGER_ROLE for role in user.roles):
        raise PermissionError(f"{username} is a store manager without a warehouse login: nothing is read for it")
    if login:
        uri = uri.set(username=login["login"], password=Path(login["password_file"]).read_text().strip())
    return uri, params
