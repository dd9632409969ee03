import pytest
from django.core import mail
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from cadcam.celery import app
from cadcam.tasks import send_email


@pytest.mark.django_db(transaction=True)
def test_celery_round_trip_through_the_real_broker(celery_worker):
    assert app.conf.broker_url.startswith(("redis://", "redis+socket://", "rediss://"))

    result = send_email.delay(
        subject="Round trip",
        text="Through Redis and back.",
        html="<p>Through Redis and back.</p>",
        to=["someone@example.com"],
        from_email="no-reply@cadcam.test",
        headers={},
    )

    assert result.get(timeout=20) is None
    assert result.state == "SUCCESS"
    assert [message.subject for message in mail.outbox] == ["Round trip"]
    assert mail.outbox[0].alternatives[0] == ("<p>Through Redis and back.</p>", "text/html")


def test_celery_uses_json_and_time_limits():
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_time_limit and app.conf.task_soft_time_limit < app.conf.task_time_limit


@pytest.mark.django_db(transaction=True)
def test_beat_writes_the_periodic_tasks_declared_in_code():
    DatabaseScheduler(app=app)

    task = PeriodicTask.objects.get(name="clear-expired-sessions")
    assert task.task == "cadcam.tasks.clear_expired_sessions"
    assert task.interval.every == 24 * 60 * 60
    assert task.enabled
