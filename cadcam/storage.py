from django.core.files.storage import storages


def private_storage():
    """Storage for files no URL may expose (ID documents): served only by views that check
    who is asking. A callable, so that migrations do not freeze the location."""
    return storages["private"]
