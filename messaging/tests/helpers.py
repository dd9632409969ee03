"""Conversations for tests, made through messaging/services.py."""

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.helpers import make_user
from messaging.services import direct_message_send, message_send
from orders.tests.helpers import stl_upload

__all__ = ["make_direct", "reply", "stl_upload", "text_upload"]


def make_direct(sender=None, recipient=None, *, body="Hello, can you design a crown?", files=(), listing=None):
    """A direct conversation with one message from `sender`; returns (conversation, sender, recipient)."""
    sender = sender or make_user()
    recipient = recipient or make_user()
    message = direct_message_send(sender=sender, recipient=recipient, listing=listing, body=body, files=files)
    return message.conversation, sender, recipient


def reply(conversation, sender, body="Yes, send it.", files=()):
    return message_send(conversation=conversation, sender=sender, body=body, files=files)


def text_upload(name="notes.txt", content=b"hello"):
    return SimpleUploadedFile(name, content)
