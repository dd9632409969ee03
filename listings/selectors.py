from django.db.models import QuerySet

from listings.models import Category


def categories_active() -> QuerySet[Category]:
    return Category.objects.filter(is_active=True)
