"""Agent-started conversations (D8): look a number up, then start with text or a template.

The seeds' rules (xcally-instant-for-agents.txt, "Send Template to a single contact"):
- the customer's 24-hour window is open: the agent writes normal text;
- the window has closed, or the number is unknown: the agent picks a template "available for
  agents"; a new interaction opens, owned by the agent, and its window starts when the template
  is delivered (``window_open_from_template``);
- a pending campaign message to that number: refused (``campaign_pending``);
- an open interaction with another agent: refused (``open_elsewhere``).

Campaigns sit above this package: they say whether a number has a pending campaign message
through ``on_campaign_pending`` (registered from their AppConfig.ready()).
"""
from __future__ import annotations

from collections.abc import Callable

import phonenumbers
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import WhatsAppAccount
from apps.contacts.models import Contact
from apps.contacts.selectors import can_view_list
from apps.core.exceptions import Conflict, Invalid, ServiceError
from apps.core.masking import mask_name, masking_level_for
from apps.core.models import InstallationSettings
from apps.core.phones import normalize_phone
from apps.providers.types import MessageKind
from apps.queues.models import Queue
from apps.users.models import User

from .. import events
from ..models import TEXT_MAX_LENGTH, Interaction, Message
from .common import OPEN_STATES, history_record, publish_for, publish_queue_stats
from .delivery import message_queue_send

# ``check(account=..., phone=...) -> bool``: True when a campaign message to ``phone`` is still pending.
campaign_pending_checks: list[Callable[..., bool]] = []


def on_campaign_pending(check: Callable[..., bool]) -> None:
    if check not in campaign_pending_checks:
        campaign_pending_checks.append(check)


def _campaign_pending(account: WhatsAppAccount, phone: str) -> bool:
    return any(check(account=account, phone=phone) for check in campaign_pending_checks)


def start_phone(raw: str, account: WhatsAppAccount) -> str:
    """The number the agent typed, as E.164 (phonenumbers, *possible* numbers, CONTRACT.md).

    An international number is read as it is; a national one takes the installation's default
    region (D8, settings' ``default_region``), or when that is blank the region of the account's own
    number (an Italian business calls Italian numbers).
    """
    text = (raw or "").strip()
    try:
        return normalize_phone(text)
    except ValueError as exc:
        error = str(exc)
    if text and not text.startswith(("+", "00")):
        region = InstallationSettings.load().default_region
        try:
            if not region:
                region = phonenumbers.region_code_for_number(phonenumbers.parse(account.phone_number, None)) or ""
            number = phonenumbers.parse(text, region or None)
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if text[:1].isdigit():
            error = f"This phone number is not possible in {region or 'this region'}: check the number of digits."
    raise Invalid("invalid_phone", error)


def start_accounts_for(user: User):
    """The active accounts the caller works on: any for supervisors and admins, their queues' for agents."""
    accounts = WhatsAppAccount.objects.filter(is_active=True).select_related("queue").order_by("name", "id")
    if not user.is_supervisor_or_admin:
        accounts = accounts.filter(queue__in=Queue.objects.filter(agents=user).values("pk"))
    return accounts


def _account_for(user: User, account_id) -> WhatsAppAccount:
    accounts = start_accounts_for(user)
    try:
        account = accounts.filter(pk=int(account_id)).first()
    except (TypeError, ValueError):
        account = None
    if account is None:
        raise ServiceError("not_found", "No such account.", status=404)
    return account


def _contact_for(account: WhatsAppAccount, phone: str) -> Contact | None:
    """The contact with this number in the entry point's lists (the account's, then its queue's).

    As for an inbound customer (D11), a contact of an unrelated list is never linked silently.
    """
    for list_id in (account.contact_list_id, account.queue.contact_list_id):
        if list_id:
            contact = Contact.objects.filter(phone=phone, contact_list_id=list_id).order_by("id").first()
            if contact is not None:
                return contact
    return None


def _latest_window(account: WhatsAppAccount, phone: str, now) -> Interaction | None:
    """The customer's interaction whose 24-hour window is still open, if any (a closed one counts)."""
    return (
        Interaction.objects.filter(account=account, customer_phone=phone, window_expires_at__gt=now)
        .order_by("-window_expires_at")
        .first()
    )


def interaction_lookup(*, user: User, account_id, phone: str) -> dict:
    """What the desktop's "+" needs to know before it offers text or templates (D8)."""
    account = _account_for(user, account_id)
    phone = start_phone(phone, account)
    now = timezone.now()
    contact = _contact_for(account, phone)
    # B6/B5: only a contact of a list the caller may view, named as the masking level shows it.
    if contact is not None and not can_view_list(user, contact.contact_list_id):
        contact = None
    open_interaction = (
        Interaction.objects.filter(account=account, customer_key=phone, status__in=OPEN_STATES).order_by("-id").first()
    )
    return {
        "phone": phone,
        "contact": contact.pk if contact else None,
        "contact_name": mask_name(contact.full_name, masking_level_for(user)) if contact else "",
        "window_open": _latest_window(account, phone, now) is not None,
        "open_interaction": open_interaction.pk if open_interaction else None,
        "owner": open_interaction.owner_id if open_interaction else None,
        "campaign_pending": _campaign_pending(account, phone),
    }


def _template_for(account: WhatsAppAccount, template_id, params) -> tuple:
    try:
        template = account.templates.filter(pk=int(template_id)).first()
    except (TypeError, ValueError):
        template = None
    if template is None or template.status != "approved" or not template.available_for_agents:
        raise Invalid(
            "template_not_available",
            "Pick an approved template of this account that is available for agents.",
        )
    values = ["" if p is None else str(p) for p in (params or [])]
    if len(values) != template.param_count:
        raise Invalid(
            "wrong_param_count",
            f"The template {template.name!r} takes {template.param_count} parameter(s); {len(values)} given.",
        )
    if any(not v.strip() for v in values):
        raise Invalid("empty_param", "Every template parameter needs a value.")
    return template, values


def interaction_start(
    *,
    user: User,
    account_id,
    phone: str,
    template_id=None,
    params: list | None = None,
    text: str = "",
) -> Interaction:
    """D8: start a conversation as ``user``: free text while the window is open, else a template.

    One transaction: the refusals are checked with the customer's open interaction locked, and the
    partial unique constraint settles a race with the customer's own first message (we then see
    their interaction and apply the same rules to it).
    """
    text = (text or "").strip()
    if bool(text) == (template_id is not None):
        raise Invalid("text_or_template", "Send either a text (while the window is open) or a template.")
    if len(text) > TEXT_MAX_LENGTH:
        raise Invalid("text_too_long", f"WhatsApp takes at most {TEXT_MAX_LENGTH} characters; this text has {len(text)}.")
    account = _account_for(user, account_id)
    phone = start_phone(phone, account)
    template, values = _template_for(account, template_id, params) if template_id is not None else (None, [])
    now = timezone.now()
    with transaction.atomic(durable=True):
        if _campaign_pending(account, phone):
            raise Conflict("campaign_pending", "A campaign message to this number is still pending: wait for it.")
        interaction = _open_interaction_of(account, phone, user)
        window = _latest_window(account, phone, now)
        if text and window is None:
            raise Conflict("window_closed", "The customer's 24-hour window is closed: send a template.")
        created = interaction is None
        if created:
            interaction = _create_owned(account, phone, user, now, window)
        message = Message(
            interaction=interaction,
            account=account,
            direction=Message.Direction.OUT,
            status=Message.Status.QUEUED,
            created_at=now,
            sender=user,
        )
        if template is not None:
            message.kind = MessageKind.TEMPLATE.value
            message.text = template.render(values)
            message.template = template
            message.template_params = values
        else:
            message.kind = MessageKind.TEXT.value
            message.text = text
        message.save()
        if created:
            history_record(interaction, "started", user, customer_phone=phone, template=template.name if template else None)
            publish_for(interaction, events.interaction_assigned(interaction))
            publish_queue_stats(interaction.queue_id)
        message_queue_send(interaction, message)
        return interaction


def _open_interaction_of(account: WhatsAppAccount, phone: str, user: User) -> Interaction | None:
    """The customer's open interaction if the caller owns it; refused if anyone else has it."""
    interaction = (
        Interaction.objects.select_for_update(of=("self",))
        .filter(account=account, customer_key=phone, status__in=OPEN_STATES)
        .first()
    )
    if interaction is None:
        return None
    if interaction.owner_id != user.pk:
        who = "another agent" if interaction.owner_id else "the queue, waiting for an agent"
        raise Conflict("open_elsewhere", f"This customer already has an open conversation with {who}.")
    return interaction


def _create_owned(account: WhatsAppAccount, phone: str, user: User, now, window: Interaction | None) -> Interaction:
    contact = _contact_for(account, phone)
    try:
        with transaction.atomic():
            return Interaction.objects.create(
                account=account,
                queue=account.queue,
                contact=contact,
                customer_phone=phone,
                customer_name=contact.full_name if contact else "",
                status=Interaction.Status.OPEN,
                origin=Interaction.Origin.AGENT,
                owner=user,
                first_agent=user,
                started_at=now,
                accepted_at=now,
                # Free text rides on the window the customer opened earlier; a template's starts on delivery.
                window_expires_at=window.window_expires_at if window else None,
                last_inbound_at=window.last_inbound_at if window else None,
            )
    except IntegrityError:
        # The customer wrote in the meantime and their interaction won: the rules apply to it.
        interaction = _open_interaction_of(account, phone, user)
        if interaction is None:
            raise
        return interaction
