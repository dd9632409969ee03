from django.utils.functional import SimpleLazyObject

from messaging.selectors import unread_total


def unread_messages(request) -> dict:
    """`unread_messages`: the navigation badge; counted (one query) only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_messages": SimpleLazyObject(lambda: unread_total(user))}
