from celery import shared_task

from accounts.services import verification_documents_purge


@shared_task
def purge_id_documents() -> int:
    return verification_documents_purge()
