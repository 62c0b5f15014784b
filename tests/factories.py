"""factory_boy factories shared by the whole suite. Keep them plain: tests set what they care about."""
from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from apps.accounts.models import WhatsAppAccount
from apps.contacts.models import Contact, ContactList
from apps.interactions.models import Interaction, Message, Note
from apps.queues.models import Queue
from apps.templates.models import Template
from apps.users.models import User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.LazyAttribute(lambda o: o.username.capitalize())
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    role = User.Role.AGENT
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def queues(self, create, extracted, **kwargs):
        if create and extracted:
            self.queues.set(extracted)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create and results:
            instance.save()


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Queue {n}")


class ContactListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactList
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"List {n}")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    contact_list = factory.SubFactory(ContactListFactory)
    first_name = "Carla"
    last_name = factory.Sequence(lambda n: f"Customer{n}")
    phone = factory.Sequence(lambda n: f"+1555{n:07d}")


class WhatsAppAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WhatsAppAccount

    name = factory.Sequence(lambda n: f"Account {n}")
    provider = WhatsAppAccount.Provider.SANDBOX
    phone_number = factory.Sequence(lambda n: f"+1555900{n:04d}")
    credentials = factory.LazyFunction(dict)
    queue = factory.SubFactory(QueueFactory)


AccountFactory = WhatsAppAccountFactory


class TemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Template

    account = factory.SubFactory(WhatsAppAccountFactory)
    name = factory.Sequence(lambda n: f"template_{n}")
    language = "en"
    body = "Hello {{1}}, this is {{2}}."
    status = Template.Status.APPROVED


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    account = factory.SubFactory(WhatsAppAccountFactory)
    queue = factory.LazyAttribute(lambda o: o.account.queue)
    customer_phone = factory.Sequence(lambda n: f"+1555100{n:04d}")
    customer_name = "Carla Customer"
    status = Interaction.Status.WAITING
    started_at = factory.LazyFunction(timezone.now)
    last_message_at = factory.LazyFunction(timezone.now)
    last_message_direction = Interaction.Direction.IN
    window_expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=24))
    last_inbound_at = factory.LazyFunction(timezone.now)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    interaction = factory.SubFactory(InteractionFactory)
    account = factory.LazyAttribute(lambda o: o.interaction.account)
    direction = Message.Direction.IN
    kind = "text"
    text = factory.Sequence(lambda n: f"Message {n}")
    status = factory.LazyAttribute(lambda o: "received" if o.direction == "in" else "sent")
    provider_message_id = factory.Sequence(lambda n: f"wamid.{n}")
    created_at = factory.LazyFunction(timezone.now)


class NoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Note

    interaction = factory.SubFactory(InteractionFactory)
    author = factory.SubFactory(UserFactory)
    text = "Called back yesterday."
