"""Tenants and their API keys; brands, programs and senders."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from consentry.cli._common import (
    DatabaseOption,
    JsonOption,
    TenantOption,
    _print_json,
    _run,
    _service,
    _table_or_json,
    _tenant,
    app,
    err,
    out,
)

tenants_app = typer.Typer(help="Tenants (accounts) and their API keys.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")

brands_app = typer.Typer(help="Brands: the identity shown in messages.", no_args_is_help=True)
app.add_typer(brands_app, name="brands")

programs_app = typer.Typer(help="Messaging programs of a brand.", no_args_is_help=True)
app.add_typer(programs_app, name="programs")

senders_app = typer.Typer(help="Registered sender addresses.", no_args_is_help=True)
app.add_typer(senders_app, name="senders")

# -- tenants -----------------------------------------------------------------------------------


@tenants_app.command("create")
def tenants_create(
    name: str,
    slug: Annotated[
        str | None, typer.Option(help="URL-safe short name (default: from NAME).")
    ] = None,
    region: Annotated[str, typer.Option(help="Default region for national-format numbers.")] = "US",
    database: DatabaseOption = None,
) -> None:
    """Create a tenant and print its API key once. Example: consentry tenants create "Acme" """
    service = _service(database)
    tenant, key = _run(lambda: service.create_tenant(name, slug=slug, default_region=region))
    err.print(f"tenant {tenant.slug} ({tenant.id}) created; API key (shown once):")
    out.print(key, highlight=False, soft_wrap=True)


@tenants_app.command("list")
def tenants_list(database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """List tenants. Example: consentry tenants list"""
    tenants = _service(database).list_tenants()
    if as_json:
        _print_json(
            [
                {"id": t.id, "slug": t.slug, "name": t.name, "default_region": t.default_region}
                for t in tenants
            ]
        )
        return
    table = Table("slug", "id", "name", "region")
    for t in tenants:
        table.add_row(t.slug, t.id, t.name, t.default_region)
    out.print(table)


@tenants_app.command("key")
def tenants_key(
    tenant: str,
    label: Annotated[str | None, typer.Option(help="What the key is for.")] = None,
    database: DatabaseOption = None,
) -> None:
    """Issue another API key for a tenant (rotation). Example: consentry tenants key demo"""
    service = _service(database)
    target = _tenant(service, tenant)
    out.print(service.issue_api_key(target, label), highlight=False, soft_wrap=True)


# -- registry ----------------------------------------------------------------------------------


@brands_app.command("create")
def brands_create(
    name: Annotated[str, typer.Option(help="Brand name shown in messages.")],
    support_contact: Annotated[str, typer.Option(help="E-mail, URL or phone for HELP replies.")],
    support_phone: Annotated[str | None, typer.Option()] = None,
    slug: Annotated[str | None, typer.Option()] = None,
    terms_url: Annotated[str | None, typer.Option(help="The brand's SMS terms page.")] = None,
    privacy_url: Annotated[str | None, typer.Option(help="The brand's privacy policy.")] = None,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
) -> None:
    """Register a brand. Example: consentry brands create --name "Acme" --support-contact help@acme.example"""
    service = _service(database)
    target = _tenant(service, tenant)
    brand = _run(
        lambda: service.create_brand(
            target,
            name,
            support_contact,
            support_phone=support_phone,
            slug=slug,
            terms_url=terms_url,
            privacy_url=privacy_url,
        )
    )
    out.print(f"brand {brand.slug} ({brand.id}) created")


@brands_app.command("list")
def brands_list(
    tenant: TenantOption = None, database: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """List brands. Example: consentry brands list --tenant demo"""
    service = _service(database)
    brands = service.list_brands(_tenant(service, tenant))
    rows = [
        {"id": b.id, "slug": b.slug, "name": b.name, "support_contact": b.support_contact}
        for b in brands
    ]
    _table_or_json(rows, as_json)


@programs_app.command("create")
def programs_create(
    brand: Annotated[str, typer.Option(help="Brand id or slug.")],
    name: Annotated[str, typer.Option(help="Program name.")],
    slug: Annotated[str | None, typer.Option()] = None,
    category: Annotated[
        str, typer.Option(help="marketing | informational | transactional | conversational")
    ] = "informational",
    opt_out_scope: Annotated[
        str, typer.Option(help="Where STOP lands: program | brand | sender | tenant")
    ] = "program",
    help_reply: Annotated[str | None, typer.Option()] = None,
    opt_out_reply: Annotated[str | None, typer.Option()] = None,
    opt_in_reply: Annotated[str | None, typer.Option()] = None,
    frequency: Annotated[
        str | None, typer.Option(help="Disclosed frequency, e.g. 'Up to 4 msgs/month'.")
    ] = None,
    use_case: Annotated[str | None, typer.Option(help="e.g. lead_generation")] = None,
    double_opt_in: Annotated[bool, typer.Option(help="Consent must be confirmed (YES).")] = False,
    age_gated: Annotated[
        bool, typer.Option(help="May carry alcohol, firearms, tobacco, gambling content.")
    ] = False,
    block_shorteners: Annotated[
        bool, typer.Option(help="Public URL shorteners block instead of warn.")
    ] = False,
    one_way: Annotated[
        bool, typer.Option(help="Its senders cannot receive replies (messages must say so).")
    ] = False,
    purpose: Annotated[
        str | None,
        typer.Option(help="marketing | notifications (default: from the category)."),
    ] = None,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
) -> None:
    """Register a program. Example: consentry programs create --brand acme --name "Order updates" """
    service = _service(database)
    target = _tenant(service, tenant)
    program = _run(
        lambda: service.create_program(
            target,
            brand,
            name,
            slug=slug,
            category=category,
            opt_out_scope=opt_out_scope,
            help_reply=help_reply,
            opt_out_reply=opt_out_reply,
            opt_in_reply=opt_in_reply,
            frequency=frequency,
            use_case=use_case,
            double_opt_in=double_opt_in,
            age_gated=age_gated,
            block_shorteners=block_shorteners,
            one_way=one_way,
            purpose=purpose,
        )
    )
    out.print(f"program {program.slug} ({program.id}) created")


@programs_app.command("list")
def programs_list(
    tenant: TenantOption = None, database: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """List programs. Example: consentry programs list"""
    service = _service(database)
    programs = service.list_programs(_tenant(service, tenant))
    rows = [
        {
            "id": p.id,
            "slug": p.slug,
            "name": p.name,
            "brand_id": p.brand_id,
            "category": p.category,
            "opt_out_scope": p.opt_out_scope.value,
            "purpose": p.purpose,
        }
        for p in programs
    ]
    _table_or_json(rows, as_json)


@senders_app.command("create")
def senders_create(
    address: str,
    kind: Annotated[str, typer.Option(help="long_code | toll_free | short_code | alphanumeric")],
    program: Annotated[
        list[str] | None, typer.Option(help="Program id or slug (repeatable).")
    ] = None,
    verified: Annotated[
        bool, typer.Option(help="Registered and verified with the carrier.")
    ] = False,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
) -> None:
    """Register a sender. Example: consentry senders create +12065550101 --kind long_code --program coffee-club"""
    service = _service(database)
    target = _tenant(service, tenant)
    sender = _run(
        lambda: service.create_sender(
            target, address, kind, programs=program or [], verified=verified
        )
    )
    out.print(f"sender {sender.address} ({sender.id}) created")


@senders_app.command("list")
def senders_list(
    tenant: TenantOption = None, database: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """List senders. Example: consentry senders list"""
    service = _service(database)
    senders = service.list_senders(_tenant(service, tenant))
    rows = [
        {
            "id": s.id,
            "address": s.address,
            "kind": s.kind.value,
            "verified": s.verified,
            "program_ids": ",".join(s.program_ids),
        }
        for s in senders
    ]
    _table_or_json(rows, as_json)
