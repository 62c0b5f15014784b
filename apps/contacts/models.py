from __future__ import annotations

from django.conf import settings
from django.db import models


class ContactList(models.Model):
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ContactListPermission(models.Model):
    """B6: a row lets a user (or every member of a group) view a list's contacts; ``can_edit`` lets
    them add, edit, merge and import too. Supervisors and admins need no row."""

    contact_list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="permissions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="contact_list_permissions"
    )
    group = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="contact_list_permissions"
    )
    can_edit = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact_list", "user"], condition=models.Q(user__isnull=False), name="contact_list_permission_unique"
            ),
            models.UniqueConstraint(
                fields=["contact_list", "group"],
                condition=models.Q(group__isnull=False),
                name="contact_list_permission_group_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, group__isnull=True) | models.Q(user__isnull=True, group__isnull=False),
                name="contact_list_permission_user_xor_group",
            ),
        ]

    def __str__(self) -> str:
        who = self.user or self.group
        return f"{who} {'edits' if self.can_edit else 'views'} {self.contact_list}"


class CustomField(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"

    contact_list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="custom_fields")
    key = models.SlugField(max_length=60)
    label = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    choices = models.JSONField(default=list, blank=True, help_text='For "choice": the allowed values, e.g. ["gold", "silver"].')

    class Meta:
        ordering = ["label"]
        constraints = [models.UniqueConstraint(fields=["contact_list", "key"], name="custom_field_unique_key")]

    def __str__(self) -> str:
        return self.label


class Tag(models.Model):
    name = models.CharField(max_length=60, unique=True)
    color = models.CharField(max_length=16, default="#3b82f6")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    contact_list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(max_length=120, blank=True)
    last_name = models.CharField(max_length=120, blank=True)
    phone = models.CharField(max_length=32, blank=True, db_index=True, help_text="E.164, e.g. +15551234567")
    whatsapp_user_id = models.CharField(max_length=128, blank=True, db_index=True, help_text="Meta business-scoped user id")
    email = models.EmailField(blank=True)
    company = models.CharField(max_length=120, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    # "My contacts" (D9): who created or edited the contact.
    editors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="edited_contacts")
    notes = models.TextField(blank=True)
    created_automatically = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["first_name", "last_name", "id"]
        indexes = [
            # The listing's order within a list (bench/contacts_list.py) and across lists.
            models.Index(fields=["contact_list", "first_name", "last_name", "id"], name="contact_list_order"),
            models.Index(fields=["first_name", "last_name", "id"], name="contact_order"),
            models.Index(fields=["email"], name="contact_email"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.phone or f"Contact {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class ContactAudit(models.Model):
    """What happened to contacts that a later reader must be able to trace (a merge deletes a row)."""

    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit")
    kind = models.CharField(max_length=30)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
