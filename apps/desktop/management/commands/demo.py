"""Idempotent demo data (CONTRACT.md): users, the Support queue, a Sandbox account, contacts, templates."""
from __future__ import annotations

from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts.models import WhatsAppAccount
from apps.contacts.models import Contact, ContactList, ContactListPermission, Tag
from apps.core.models import InstallationSettings
from apps.queues.models import CannedAnswer, Disposition, Queue
from apps.templates.models import Template
from apps.users.models import User

DEMO_USERS = [
    ("admin", "admin", "admin", "Ada", "Admin", True),
    ("supervisor", "supervisor", "supervisor", "Sam", "Supervisor", False),
    ("agent1", "agent1", "agent", "Alice", "Agent", False),
    ("agent2", "agent2", "agent", "Bob", "Agent", False),
]

CONTACTS = [
    ("Jane", "Doe", "+15551230001", "jane@example.com"),
    ("Mario", "Rossi", "+393331234567", "mario@example.com"),
    ("Priya", "Shah", "+15551230002", ""),
]

CANNED = [
    ("Greeting", "Hello! Thanks for contacting us. How can I help you today?"),
    ("Hold on", "Thanks for waiting, I'm checking that for you right now."),
    ("Goodbye", "Is there anything else I can do for you? Have a great day!"),
]


class Command(BaseCommand):
    help = "Load the demo data (safe to run again: nothing is duplicated)."

    @transaction.atomic
    def handle(self, *args, **options):
        InstallationSettings.load()
        users = {}
        for username, password, role, first, last, superuser in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"role": role, "first_name": first, "last_name": last, "email": f"{username}@example.com"},
            )
            if created:
                user.set_password(password)
                user.is_superuser = superuser
                user.is_staff = superuser or role == "admin"
                user.save()
            users[username] = user

        support, _ = Queue.objects.get_or_create(name="Support", defaults={"offer_timeout": 120})
        support.agents.add(users["agent1"], users["agent2"])
        sales, _ = Queue.objects.get_or_create(name="Sales", defaults={"offer_timeout": 120})
        sales.agents.add(users["agent2"])
        for name in ("Solved", "Call back", "Not interested"):
            Disposition.objects.get_or_create(queue=support, name=name)
            Disposition.objects.get_or_create(queue=sales, name=name)
        for title, text in CANNED:
            CannedAnswer.objects.get_or_create(queue=support, title=title, defaults={"text": text})

        # The demo's supervisor plays customers in the simulator, as an admin allows it (C1).
        users["supervisor"].user_permissions.add(
            Permission.objects.get(content_type__app_label="providers", codename="view_sandboxmessage")
        )
        customers, _ = ContactList.objects.get_or_create(name="Customers", defaults={"description": "Demo contacts"})
        for username in ("agent1", "agent2", "supervisor"):
            ContactListPermission.objects.get_or_create(
                contact_list=customers, user=users[username], defaults={"can_edit": True}
            )
        vip, _ = Tag.objects.get_or_create(name="VIP", defaults={"color": "#d97706"})
        for first, last, phone, email in CONTACTS:
            contact, _ = Contact.objects.get_or_create(
                contact_list=customers, phone=phone, defaults={"first_name": first, "last_name": last, "email": email}
            )
            if first == "Jane":
                contact.tags.add(vip)
        support.contact_list = customers
        support.save(update_fields=["contact_list"])

        account, _ = WhatsAppAccount.objects.get_or_create(
            name="Demo WhatsApp",
            defaults={
                "provider": WhatsAppAccount.Provider.SANDBOX,
                "phone_number": "+15550100100",
                "queue": support,
                "contact_list": customers,
            },
        )
        recontact, _ = Template.objects.get_or_create(
            account=account,
            name="recontact",
            language="en",
            defaults={
                "category": Template.Category.UTILITY,
                "body": "Hi! We'd like to continue our conversation. Reply to this message to chat with us again.",
                "status": Template.Status.APPROVED,
            },
        )
        Template.objects.get_or_create(
            account=account,
            name="order_update",
            language="en",
            defaults={
                "category": Template.Category.UTILITY,
                "body": "Hello {{1}}, your order {{2}} has been shipped.",
                "status": Template.Status.APPROVED,
                "available_for_agents": True,
            },
        )
        if account.recontact_template_id is None:
            account.recontact_template = recontact
            account.save(update_fields=["recontact_template"])
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Sandbox webhook: {account.webhook_url}"))
