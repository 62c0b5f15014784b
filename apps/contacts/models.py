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
    contact_list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="permissions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_list_permissions")
    can_edit = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact_list", "user"], name="contact_list_permission_unique")]


class CustomField(models.Model):
    contact_list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="custom_fields")
    key = models.SlugField(max_length=60)
    label = models.CharField(max_length=120)

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
    editors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="edited_contacts")
    created_automatically = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["first_name", "last_name", "id"]

    def __str__(self) -> str:
        return self.full_name or self.phone or f"Contact {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
