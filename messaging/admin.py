"""Read-only views for staff. Direct conversations show who talks to whom and when, never
what they say: their content is private to the two participants (see docs/messaging.md).
Support is answered from /support/staff/, not here."""

from django.contrib import admin

from messaging.models import Attachment, Block, Conversation, Message, MessagingPreference, Participant


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ParticipantInline(ReadOnlyMixin, admin.TabularInline):
    model = Participant
    extra = 0
    fields = readonly_fields = ["user", "joined_at", "last_read_id", "read_at", "notified_at"]


class MessageInline(ReadOnlyMixin, admin.TabularInline):
    model = Message
    extra = 0
    fields = readonly_fields = ["created_at", "sender", "body", "files"]

    @admin.display(description="files")
    def files(self, obj):
        return ", ".join(attachment.name for attachment in obj.attachments.all())


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "kind", "subject", "started_by", "status", "assigned_to", "last_message_at"]
    list_filter = ["kind", "status"]
    search_fields = ["=id", "subject", "started_by__email", "participants__user__email"]
    list_select_related = ["started_by", "assigned_to"]
    fields = readonly_fields = ["kind", "subject", "started_by", "listing", "order", "status", "assigned_to",
                                "closed_at", "closed_by", "created_at", "last_message_at"]

    def get_inlines(self, request, obj):
        if obj is not None and obj.staff_may_read:
            return [ParticipantInline, MessageInline]
        return [ParticipantInline]


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "name", "size", "conversation", "hide_patient_data", "created_at"]
    fields = readonly_fields = ["name", "size", "sha256", "hide_patient_data", "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(message__conversation__kind=Conversation.Kind.DIRECT)

    @admin.display(description="conversation")
    def conversation(self, obj):
        return obj.message.conversation_id


@admin.register(Block)
class BlockAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["blocker", "blocked", "created_at"]
    search_fields = ["blocker__email", "blocked__email"]
    list_select_related = ["blocker", "blocked"]


@admin.register(MessagingPreference)
class MessagingPreferenceAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["user", "email_unread"]
    list_select_related = ["user"]
