"""Set-up and running: version, init, serve, worker."""

from __future__ import annotations

from typing import Annotated

import typer

from consentry._version import __version__
from consentry.cli._common import (
    DatabaseOption,
    TenantOption,
    _run,
    _service,
    _tenant,
    app,
    err,
    out,
)

# -- set-up ------------------------------------------------------------------------------------


@app.command()
def version() -> None:
    """Print the version. Example: consentry version"""
    out.print(__version__)


@app.command()
def init(
    database: DatabaseOption = None,
    demo: Annotated[
        bool, typer.Option(help="Create a demo tenant, brand, program and sender.")
    ] = False,
) -> None:
    """Apply migrations; with --demo, create a demo tenant once and print its API key.

    Example: consentry init --demo
    """
    service = _service(database)
    out.print(f"database ready: {service.database_url}")
    if not demo:
        return
    if any(tenant.slug == "demo" for tenant in service.list_tenants()):
        out.print(
            "demo tenant exists (its API key was printed when it was created; "
            "`consentry tenants key demo` issues a new one)"
        )
        return
    tenant, key = _run(lambda: service.create_tenant("Demo", slug="demo"))
    brand = service.create_brand(
        tenant, "Demo Coffee", "support@demo-coffee.example", slug="demo-coffee"
    )
    program = service.create_program(
        tenant,
        brand.id,
        "Coffee Club",
        slug="coffee-club",
        category="marketing",
        frequency="Up to 4 msgs/month",
    )
    sender = service.create_sender(
        tenant, "+12065550100", "long_code", programs=[program.id], verified=True
    )
    out.print(
        f"demo tenant [bold]{tenant.slug}[/] created: brand {brand.slug}, "
        f"program {program.slug}, sender {sender.address}",
        soft_wrap=True,
    )
    out.print("API key (shown once, store it now):")
    out.print(key, highlight=False, soft_wrap=True)


@app.command()
def serve(
    database: DatabaseOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (one core each).")
    ] = 1,
    deliver: Annotated[
        bool, typer.Option(help="Also deliver the outbox in this process (like `worker`).")
    ] = False,
) -> None:
    """Run the HTTP API (migrations are applied first). Example: consentry serve --port 8000"""
    import os
    import signal
    import sys

    import uvicorn

    from consentry.api import create_app
    from consentry.logs import redacted_url

    # SIGTERM: uvicorn stops accepting, gives requests in flight up to 30 s to finish, then
    # re-raises the signal: exit 0 then (a clean stop), not "killed by SIGTERM"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    service = _service(database)
    out.print(
        f"consentry {__version__} on http://{host}:{port} (database {redacted_url(service.database_url)}, "
        f"{workers} worker{'s' if workers > 1 else ''})"
    )
    if deliver:
        import threading
        import time

        def deliver_forever() -> None:
            while True:
                try:
                    if not service.deliver_outbox().outcomes:
                        time.sleep(2)
                except Exception as error:  # keep delivering: a bad round must not stop it
                    err.print(f"delivery round failed: {error}")
                    time.sleep(5)

        threading.Thread(target=deliver_forever, name="outbox", daemon=True).start()
    if workers == 1:
        uvicorn.run(
            create_app(service),
            host=host,
            port=port,
            log_level="info",
            timeout_graceful_shutdown=30,
        )
        return
    if not deliver:
        service.close()
    os.environ["CONSENTRY_DATABASE_URL"] = service.database_url
    uvicorn.run(
        "consentry.api.app:create_app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        timeout_graceful_shutdown=30,
    )


# -- delivery ----------------------------------------------------------------------------------


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Deliver what is due now, then stop.")] = False,
    interval: Annotated[
        float, typer.Option(min=0.1, max=3600, help="Seconds between rounds.")
    ] = 2.0,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Messages a round.")] = 100,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
) -> None:
    """Deliver queued replies through each tenant's transport (log by default; Twilio when its
    account SID is configured). Example: consentry worker --once"""
    import time

    service = _service(database)
    target = _tenant(service, tenant) if tenant else None
    while True:
        report = service.deliver_outbox(tenant=target, limit=limit)
        if report.outcomes or report.unknown:
            out.print(
                f"sent {report.sent}, retrying {report.retried}, dead {report.dead}, "
                f"suppressed {report.suppressed}, unknown {report.unknown}"
            )
        if once:
            return
        if not report.outcomes:
            time.sleep(interval)
