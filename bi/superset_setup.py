"""Runs in Superset's own virtualenv (.venv-bi) inside Superset's app: users and the import of the dashboards.

Reads one JSON document on stdin (written by pipeline/bi.py):
  {"files": {path: yaml}, "database_file": path, "database_password": str,
   "admin": {"username", "password"}, "store_managers": [{"username", "password"}]}
Users: the admin (role Admin) and one user per store manager (roles Gamma and StoreManager: every dataset, read
as the manager's own warehouse login, see superset_config.py). The bundle is imported with overwrite (database,
datasets, charts, then dashboards), so a changed dashboard file replaces what an earlier start imported.
Prints {"dashboards": {slug: id}, "charts": {name: id}} as JSON on the last line.
"""

import json
import sys

from superset.app import create_app

TYPES = {"databases/": "Database", "datasets/": "SqlaTable", "charts/": "Slice", "dashboards/": "Dashboard"}


def ensure_user(sm, username: str, password: str, roles: list) -> object:
    user = sm.find_user(username=username)
    if user is None:
        user = sm.add_user(username, username, "-", f"{username}@localhost", roles, password=password)
        if not user:
            raise SystemExit(f"could not create the Superset user {username}")
    else:
        user.roles = roles
        user.active = True
        sm.update_user(user)
        sm.reset_password(user.id, password)
    return user


def main() -> None:
    request = json.load(sys.stdin)
    app = create_app()
    with app.app_context():
        from superset import db
        from superset import security_manager as sm
        from superset.commands.chart.importers.v1 import ImportChartsCommand
        from superset.commands.dashboard.importers.v1 import ImportDashboardsCommand
        from superset.commands.database.importers.v1 import ImportDatabasesCommand
        from superset.commands.dataset.importers.v1 import ImportDatasetsCommand
        from superset.models.dashboard import Dashboard
        from superset.models.slice import Slice
        from superset.utils.core import override_user

        admin = ensure_user(sm, request["admin"]["username"], request["admin"]["password"], [sm.find_role("Admin")])
        manager_role = sm.find_role(app.config["STORE_MANAGER_ROLE"]) or sm.add_role(app.config["STORE_MANAGER_ROLE"])
        for permission in ("all_datasource_access", "all_database_access"):
            sm.add_permission_role(manager_role, sm.find_permission_view_menu(permission, permission))
        wanted = {m["username"] for m in request["store_managers"]}
        for manager in request["store_managers"]:
            ensure_user(sm, manager["username"], manager["password"], [sm.find_role("Gamma"), manager_role])
        for user in sm.get_all_users():  # a manager no longer in ops.store_managers loses its Superset login
            if manager_role in user.roles and user.username not in wanted:
                user.active = False
                sm.update_user(user)
        db.session.commit()

        files = request["files"]
        passwords = {request["database_file"]: request["database_password"]}
        commands = [
            ("Database", ImportDatabasesCommand),
            ("SqlaTable", ImportDatasetsCommand),
            ("Slice", ImportChartsCommand),
            ("Dashboard", ImportDashboardsCommand),
        ]
        with override_user(admin):
            for kind, command in commands:
                metadata = files["metadata.yaml"].replace("type: Dashboard", f"type: {kind}")
                command({**files, "metadata.yaml": metadata}, passwords=passwords, overwrite=True).run()
        db.session.commit()
        result = {
            "dashboards": {d.slug: d.id for d in db.session.query(Dashboard).all()},
            "charts": {c.slice_name: c.id for c in db.session.query(Slice).all()},
        }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
