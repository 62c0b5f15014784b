"""Permission-aware reads of interactions (R1: an agent sees only its queues' interactions)."""
from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from apps.queues.models import Queue

from .models import Interaction, Message, Note


def user_sees_everything(user) -> bool:
    return bool(user and (user.is_superuser or getattr(user, "role", None) in ("supervisor", "admin")))


def interaction_list_for(user) -> QuerySet[Interaction]:
    """Admins and supervisors see every interaction; agents those of their queues and their own."""
    qs = Interaction.objects.select_related(
        "account", "queue", "contact", "owner", "first_agent", "disposition"
    ).prefetch_related("tags")
    if user is None or not user.is_authenticated:
        return qs.none()
    if user_sees_everything(user):
        return qs
    # A subquery rather than a join on queue__agents: no duplicate rows, so no DISTINCT, and callers
    # may still lock or update the result.
    my_queues = Queue.objects.filter(agents=user).values("pk")
    return qs.filter(Q(queue__in=my_queues) | Q(owner=user))


def message_list_for(user) -> QuerySet[Message]:
    visible = interaction_list_for(user).values("pk")
    return Message.objects.filter(interaction__in=visible).select_related("sender", "template")


def note_list_for(user, interaction: Interaction) -> QuerySet[Note]:
    """S2: a supervisor's note is for the owner agent (and supervisors), never for other agents."""
    qs = Note.objects.filter(interaction=interaction).select_related("author")
    if user_sees_everything(user) or (interaction.owner_id is not None and interaction.owner_id == user.pk):
        return qs
    return qs.exclude(kind=Note.Kind.SUPERVISOR)


def offer_preview(interaction: Interaction) -> str:
    """What the customer opened with, for the offer card."""
    first = interaction.messages.filter(direction="in").order_by("created_at", "id").first()
    if first is None:
        return ""
    return first.text[:200] if first.text else f"[{first.kind}]"


# ----- the interactions list (D10, S3) ---------------------------------------------------------------
def interactions_with_tags(queryset: QuerySet[Interaction], tag_ids) -> QuerySet[Interaction]:
    """Interactions carrying every one of ``tag_ids``.

    One ``IN (interactions with this tag)`` per tag: no join, so no duplicate rows, and the database
    reads each tag's few links once (a hash semi-join) instead of probing every interaction it scans.
    """
    through = Interaction.tags.through
    for tag_id in tag_ids:
        queryset = queryset.filter(pk__in=through.objects.filter(tag_id=tag_id).values("interaction_id"))
    return queryset


def interactions_with_text(queryset: QuerySet[Interaction], text: str) -> QuerySet[Interaction]:
    """Interactions with a message containing ``text`` (case-insensitive)."""
    text = (text or "").strip()
    if not text:
        return queryset
    return queryset.filter(Exists(Message.objects.filter(interaction_id=OuterRef("pk"), text__icontains=text)))


def interactions_search(queryset: QuerySet[Interaction], words: str, *, clear: bool) -> QuerySet[Interaction]:
    """The list's one search box: the customer's name and number and the message text.

    ``clear`` is False for a user who sees customers masked (B5): they may not find someone by the
    part of a name or number the mask hides, so only message text is searched for them.
    """
    words = (words or "").strip()
    if not words:
        return queryset
    matches = Exists(Message.objects.filter(interaction_id=OuterRef("pk"), text__icontains=words))
    if clear:
        digits = "".join(ch for ch in words if ch.isdigit())
        who = Q(customer_name__icontains=words) | Q(contact__first_name__icontains=words) | Q(
            contact__last_name__icontains=words
        )
        if digits and len(digits) >= 3:
            who |= Q(customer_phone__contains=digits)
        return queryset.filter(who | Q(matches))
    return queryset.filter(matches)


def with_unmanaged_counts(queryset: QuerySet[Interaction]) -> QuerySet[Interaction]:
    """Annotate ``unmanaged_count``: later interactions of the same customer on the same account that
    no agent has taken yet (D10's small count beside a row)."""
    later = (
        Interaction.objects.filter(
            account_id=OuterRef("account_id"),
            customer_key=OuterRef("customer_key"),
            started_at__gt=OuterRef("started_at"),
            first_agent__isnull=True,
        )
        .order_by()
        .values("account_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return queryset.annotate(unmanaged_count=Coalesce(Subquery(later[:1]), 0))
