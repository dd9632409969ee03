from celery import shared_task


@shared_task
def purge_id_documents() -> int:
    from accounts.services import verification_documents_purge

    return verification_documents_purge()
