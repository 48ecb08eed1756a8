"""The registry: brands, programs (with their consent settings) and senders."""

from __future__ import annotations

from collections.abc import Sequence

from consentry.domain import replies
from consentry.domain.consent import (
    ConsentLevel,
    consent_rules,
    needs_double_opt_in,
)
from consentry.domain.model import (
    Brand,
    Program,
    Sender,
    Tenant,
)
from consentry.domain.numbers import sender_lookup_key
from consentry.domain.purposes import default_purpose, purpose_names
from consentry.errors import Conflict, InvalidNumber
from consentry.identifiers import new_id, slugify
from consentry.service._checks import (
    found,
    one_of,
    optional_phone,
    optional_reply,
    optional_text,
    positive_int,
    program_ids_of,
    required_text,
    scope_kind,
    sender_address,
    sender_kind,
    use_case_id,
    valid_slug,
    web_url,
    with_brand,
)
from consentry.service._tenants import TenantsLayer
from consentry.store import (
    registry,
    sends,
)

PROGRAM_CATEGORIES = ("marketing", "informational", "transactional", "conversational")


class RegistryLayer(TenantsLayer):
    """The registry: brands, programs (with their consent settings) and senders."""

    def create_brand(
        self,
        tenant: Tenant,
        name: str,
        support_contact: str,
        *,
        support_phone: str | None = None,
        slug: str | None = None,
        terms_url: str | None = None,
        privacy_url: str | None = None,
    ) -> Brand:
        """Register a brand: the identity shown in messages and the contact HELP gives out.

        ``terms_url`` and ``privacy_url`` are the brand's own pages (``https://``); without them
        the hosted opt-in page links to the terms and privacy pages consentry generates.
        """
        name = required_text(name, "name", 200)
        brand = Brand(
            id=new_id("brd"),
            tenant_id=tenant.id,
            slug=valid_slug(slug if slug is not None else slugify(name), "slug"),
            name=name,
            support_contact=required_text(support_contact, "support_contact", 200),
            support_phone=optional_phone(support_phone, tenant.default_region, "support_phone"),
            created_at=self.now(),
            terms_url=web_url(terms_url, "terms_url"),
            privacy_url=web_url(privacy_url, "privacy_url"),
        )
        with self.engine.begin() as conn:
            if registry.find_brand(conn, tenant.id, brand.slug) is not None:
                raise Conflict(f"a brand with slug {brand.slug!r} already exists", field="slug")
            registry.insert_brand(conn, brand)
            sends.bump_epoch(conn, tenant.id)
        return brand

    def get_brand(self, tenant: Tenant, ref: str) -> Brand:
        with self._read() as conn:
            return found(registry.find_brand(conn, tenant.id, ref), "brand", ref)

    def list_brands(self, tenant: Tenant) -> list[Brand]:
        with self._read() as conn:
            return registry.list_brands(conn, tenant.id)

    def create_program(
        self,
        tenant: Tenant,
        brand: str,
        name: str,
        *,
        slug: str | None = None,
        category: str = "informational",
        opt_out_scope: str = "program",
        help_reply: str | None = None,
        opt_out_reply: str | None = None,
        opt_in_reply: str | None = None,
        use_case: str | None = None,
        description: str | None = None,
        frequency: str | None = None,
        consent_level: str | None = None,
        double_opt_in: bool = False,
        pending_expiry_hours: int | None = None,
        reconfirm_after_days: int | None = None,
        reconfirm_idle_days: int | None = None,
        age_gated: bool = False,
        block_shorteners: bool = False,
        one_way: bool = False,
        purpose: str | None = None,
    ) -> Program:
        """Register a messaging program of ``brand`` (id or slug) with its keyword replies and
        consent settings (level needed, double opt-in, reconfirmation windows).

        ``age_gated`` programs may carry alcohol, firearms, tobacco, gambling or sexual content
        (their opt-in must verify age); ``block_shorteners`` makes public URL shorteners block
        instead of warn; ``one_way`` programs send from numbers that cannot receive replies, so every
        message must say so and give another way to opt out. ``purpose`` (marketing, notifications)
        says what the messages are for, so a person can stop one and keep the other; it defaults
        to the category's. The consent level defaults to what the category needs (marketing: express written);
        a high-risk ``use_case`` (sweepstakes, lead generation, ...) always gets double opt-in.
        """
        name = required_text(name, "name", 200)
        one_of(category, PROGRAM_CATEGORIES, "category")
        purpose = default_purpose(category) if purpose is None else purpose
        one_of(purpose, purpose_names(), "purpose")
        rules = consent_rules()
        level = consent_level or rules.category_levels.get(category, ConsentLevel.EXPRESS).value
        one_of(level, [member.value for member in ConsentLevel], "consent_level")
        use_case = use_case_id(use_case)
        program = Program(
            id=new_id("prg"),
            tenant_id=tenant.id,
            brand_id="",
            slug=valid_slug(slug if slug is not None else slugify(name), "slug"),
            name=name,
            category=category,
            opt_out_scope=scope_kind(opt_out_scope, "opt_out_scope"),
            help_reply=optional_reply(help_reply, "help_reply"),
            opt_out_reply=(
                replies.check_single_segment(opt_out_reply, field="opt_out_reply")
                if opt_out_reply is not None
                else None
            ),
            opt_in_reply=optional_reply(opt_in_reply, "opt_in_reply"),
            created_at=self.now(),
            use_case=use_case,
            description=optional_text(description, "description", 1000),
            frequency=optional_text(frequency, "frequency", 200),
            consent_level=level,
            double_opt_in=needs_double_opt_in(use_case, bool(double_opt_in)),
            pending_expiry_hours=positive_int(
                pending_expiry_hours, rules.pending_expiry_hours, "pending_expiry_hours"
            ),
            reconfirm_after_days=positive_int(
                reconfirm_after_days, rules.first_message_within_days, "reconfirm_after_days"
            ),
            reconfirm_idle_days=positive_int(
                reconfirm_idle_days, rules.idle_days, "reconfirm_idle_days"
            ),
            age_gated=bool(age_gated),
            block_shorteners=bool(block_shorteners),
            one_way=bool(one_way),
            purpose=purpose,
        )
        with self.engine.begin() as conn:
            owner = found(registry.find_brand(conn, tenant.id, brand), "brand", brand, "brand_id")
            if registry.find_program(conn, tenant.id, program.slug) is not None:
                raise Conflict(f"a program with slug {program.slug!r} already exists", field="slug")
            program = with_brand(program, owner.id)
            registry.insert_program(conn, program)
            sends.bump_epoch(conn, tenant.id)
        return program

    def get_program(self, tenant: Tenant, ref: str) -> Program:
        with self._read() as conn:
            return found(registry.find_program(conn, tenant.id, ref), "program", ref)

    def list_programs(self, tenant: Tenant) -> list[Program]:
        with self._read() as conn:
            return registry.list_programs(conn, tenant.id)

    def create_sender(
        self,
        tenant: Tenant,
        address: str,
        kind: str,
        *,
        programs: Sequence[str] = (),
        verified: bool = False,
    ) -> Sender:
        """Register a sender (long code, toll-free, short code or alphanumeric ID) and its programs."""
        kind_of = sender_kind(kind)
        normalized = sender_address(address, kind_of, tenant.default_region)
        with self.engine.begin() as conn:
            program_ids = program_ids_of(conn, tenant.id, programs)
            if registry.find_sender(conn, tenant.id, normalized) is not None:
                raise Conflict(f"sender {normalized} is already registered", field="address")
            sender = Sender(
                id=new_id("snd"),
                tenant_id=tenant.id,
                address=normalized,
                kind=kind_of,
                verified=bool(verified),
                program_ids=program_ids,
                created_at=self.now(),
            )
            registry.insert_sender(conn, sender)
            sends.bump_epoch(conn, tenant.id)
        return sender

    def get_sender(self, tenant: Tenant, ref: str) -> Sender:
        """A sender by id or by address (in any form that normalises to the stored one)."""
        with self._read() as conn:
            sender = registry.find_sender(conn, tenant.id, ref)
            if sender is None:
                try:
                    sender = registry.find_sender(
                        conn, tenant.id, sender_lookup_key(ref, tenant.default_region)
                    )
                except InvalidNumber:
                    sender = None
        return found(sender, "sender", ref)

    def list_senders(self, tenant: Tenant) -> list[Sender]:
        with self._read() as conn:
            return registry.list_senders(conn, tenant.id)
