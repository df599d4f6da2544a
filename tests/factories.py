"""factory-boy factories for the platform's models."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group

from crm.models import BusinessUnit, Industry, User


class BusinessUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessUnit
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"BU{n}")
    name = factory.Sequence(lambda n: f"事业部{n}")
    industry = Industry.RETAIL


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = "伟"
    last_name = "王"
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))

    @factory.post_generation
    def units(self, create: bool, extracted: list[BusinessUnit] | None, **kwargs: object) -> None:
        if create and extracted:
            self.business_units.add(*extracted)
        if create:
            self.save()
