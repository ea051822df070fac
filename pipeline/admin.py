"""Admin commands of `python -m pipeline`: report, render, samples, ingest, dbt, batches, roles, db."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from pipeline.settings import load_settings


def command_report(args: argparse.Namespace) -> int:
    from pipeline.steps import weekly_report

    settings = load_settings()
    report = weekly_report(args.date or settings.as_of or date.today(), settings)
    print(f"{report['workbook']}\n{report['html']}")
    return 0


def command_render(args: argparse.Namespace) -> int:
    from pipeline.steps import weekly_report
    from reports.render import render

    settings = load_settings()
    report = weekly_report(args.date or settings.as_of or date.today(), settings)
    png, pdf = render(Path(report["html"]))
    print(f"{png}\n{pdf}")
    return 0


def command_samples(args: argparse.Namespace) -> int:
    from samples import generate_inbox

    world = generate_inbox(args.inbox, args.as_of, args.stores, args.months, args.seed)
    print(
        f"{len(world.policies)} policies, {len(world.sales)} sales, {len(world.repair_orders)} repair orders "
        f"written to {args.inbox}"
    )
    return 0


def command_ingest(args: argparse.Namespace) -> int:
    from pipeline import run_lock
    from pipeline.steps import ingest, prepare_database

    settings = load_settings()
    as_of = settings.as_of or date.today()
    with run_lock.held(prepare_database(settings), f"pipeline ingest (pid {os.getpid()})"):
        result = ingest(f"ingest-{as_of}", as_of, settings)
    for feed, counts in sorted(result["feeds"].items()):
        print(
            f"  {feed}: {counts['files']} files, {counts['rows_loaded']:,} rows loaded, "
            f"{counts['rows_rejected']:,} quarantined"
        )
    for failure in result["failures"]:
        print(f"  failed: {failure}")
    return 0


def command_dbt(args: argparse.Namespace) -> int:
    from pipeline.steps import DBT_PROJECT_DIR, dbt_env, prepare_database

    settings = load_settings()
    from pipeline import run_lock

    url = prepare_database(settings)
    from pipeline.roles import TRANSFORMER, step_url

    env = dbt_env(step_url(url, TRANSFORMER)) | {"DW_DBT_AS_OF": (settings.as_of or date.today()).isoformat()}
    with run_lock.held(url, f"pipeline dbt (pid {os.getpid()})"), run_lock.dbt_lock(url):
        return subprocess.call(
            [str(Path(sys.executable).with_name("dbt")), *args.dbt_args], env=env, cwd=DBT_PROJECT_DIR
        )


def command_batches(args: argparse.Namespace) -> int:
    """List held batches, or release one (back to loaded) after review, or hold one by hand."""
    import psycopg

    from ingestion import ledger
    from pipeline.steps import prepare_database

    url = prepare_database(load_settings())
    with psycopg.connect(url) as conn:
        if args.action == "list":
            for row in ledger.held_or_failed(conn):
                print(" | ".join(str(v) for v in row))
            return 0
        new_status, old_status, source_file = ledger.change_by_hand(conn, args.batch_id, args.action)
        row = (source_file,) if source_file else None
        if row and args.action == "hold":
            # its rows may already be in the marts, and some of its keys may have no other version to fall back on
            from pipeline.steps import request_full_rebuild

            request_full_rebuild(conn, f"batch {args.batch_id} ({row[0]}) held by hand")
        print(
            f"batch {args.batch_id} ({row[0]}) is now {new_status}; the next dbt build applies it"
            + (" (rebuilding every model in full)" if args.action == "hold" else "")
            if row
            else f"batch {args.batch_id} is not {old_status}"
        )
        return 0 if row else 1


def command_roles(args: argparse.Namespace) -> int:
    """Create a store manager's login: sees only its stores' rows in the store-scoped marts."""
    import psycopg
    from psycopg import sql

    from pipeline.steps import prepare_database

    url = prepare_database(load_settings())
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (args.login,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create role {} login in role store_manager").format(sql.Identifier(args.login)))
        if args.password:
            conn.execute(
                sql.SQL("alter role {} password {}").format(sql.Identifier(args.login), sql.Literal(args.password))
            )
        for store in args.stores:
            conn.execute("insert into ops.store_managers values (%s, %s) on conflict do nothing", (args.login, store))
    print(f"{args.login} manages {', '.join(args.stores)}")
    return 0


def command_db(args: argparse.Namespace) -> int:
    from pipeline.database import bootstrap_schema, ensure_database, redact, stop_embedded

    settings = load_settings()
    if args.action == "stop":
        stop_embedded(settings)
        print("embedded PostgreSQL stopped")
        return 0
    url = ensure_database(settings)
    if args.action == "init":
        bootstrap_schema(url)
    print(redact(url))
    return 0


def command_held(args: argparse.Namespace) -> int:
    """Rows held for a staff code no roster lists yet, by staff code, feed and store, with counts and premium."""
    import psycopg

    from ingestion.staff_hold import held_rows
    from pipeline.roles import LOADER, step_url
    from pipeline.steps import prepare_database

    with psycopg.connect(step_url(prepare_database(load_settings()), LOADER)) as conn:
        rows = held_rows(conn)
    if not rows:
        print("no rows are held: every staff code delivered is in a staff roster")
        return 0
    print("staff code | feed | store | rows | premium (held until a staff roster lists the code)")
    for code, feed, store, count, premium in rows:
        print(f"{code} | {feed} | {store or '-'} | {count} | {'-' if premium is None else f'{premium:,.2f}'}")
    return 0
