from core.store.ids import id_time_micros, new_id


def test_ids_sort_by_creation_and_never_repeat():
    ids = [new_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 30 for i in ids)


def test_id_carries_its_creation_time():
    import time

    before = time.time_ns() // 1000
    identifier = new_id()
    assert before <= id_time_micros(identifier) <= time.time_ns() // 1000 + 1000
