"""Several hosts on one campaign store at once: each thread opens its own CampaignHook (its own
connection, as a separate worker would) and all start together."""
from __future__ import annotations

import threading


def side_by_side(work, items, timeout: float = 120) -> None:
    """Run work(store, item) for every item at once, one thread and store each; fail with every
    error any of them raised."""
    from outcall_provider.hooks.campaign import CampaignHook

    start, errors = threading.Barrier(len(items)), []

    def run(item):
        store = CampaignHook()
        try:
            start.wait()
            work(store, item)
        except BaseException as e:  # noqa: BLE001 - reported by the test's thread
            errors.append(e)
        finally:
            store.close()

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not errors, errors
