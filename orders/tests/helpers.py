import threading

from django.db import connection

from accounts.tests.helpers import make_user
from listings.tests.helpers import make_published
from orders.services import order_create, order_mark_authorized
from payments.simulated import SimulatedGateway


def make_order(*, listing=None, employer=None, authorized=True, **kwargs):
    listing = listing or make_published(options=[("Express 24 h", 1500)])
    employer = employer or make_user()
    order = order_create(listing=listing, employer=employer, **kwargs)
    if authorized:
        SimulatedGateway().customer_pays(payment_id=order.payment_id, approve=True)
        order = order_mark_authorized(order=order)
    return order


def stl_upload(name="crown.stl", triangles=1):
    """A binary STL: 80-byte header, triangle count, 50 bytes per triangle."""
    import struct

    from django.core.files.uploadedfile import SimpleUploadedFile

    body = b"".join(
        struct.pack("<12fH", *([0.0] * 3 + [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]), 0) for _ in range(triangles)
    )
    return SimpleUploadedFile(name, b"cadcam test".ljust(80, b" ") + struct.pack("<I", triangles) + body)


def race(*actions):
    """Run the actions in threads at the same moment (each with its own database connection);
    return what each raised, or None."""
    barrier = threading.Barrier(len(actions))
    outcomes = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait()
            action()
        except Exception as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes
