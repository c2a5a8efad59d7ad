"""When cycles run (`dispatch.cadence`): the same answers on any clock."""

from dispatch.cadence import Cadence, CycleScheduler

CADENCE = Cadence(interval_s=10.0, debounce_s=0.5, reassign_every_s=60.0)


def test_without_news_a_cycle_runs_every_interval_after_the_last_one_ended():
    s = CycleScheduler(CADENCE, now_s=100.0)
    assert s.due_at() == 110.0
    s.start_cycle(110.0)
    s.end_cycle(111.5)
    assert s.due_at() == 121.5


def test_a_trigger_runs_a_cycle_after_the_debounce_and_a_burst_counts_once():
    s = CycleScheduler(CADENCE, now_s=100.0)
    s.trigger(103.0)
    s.trigger(103.4)
    assert s.due_at() == 103.5
    s.start_cycle(103.5)
    assert not s.triggered
    s.end_cycle(104.0)
    assert s.due_at() == 114.0


def test_a_trigger_during_a_cycle_waits_for_its_end():
    s = CycleScheduler(CADENCE, now_s=100.0)
    s.start_cycle(100.0)
    s.trigger(100.2)  # while the cycle runs
    s.end_cycle(101.0)
    assert s.due_at() == 101.5


def test_an_offer_expiry_brings_the_cycle_forward():
    s = CycleScheduler(CADENCE, now_s=100.0)
    assert s.due_at(next_expiry_s=104.0) == 104.0
    assert s.due_at(next_expiry_s=130.0) == 110.0


def test_accepted_work_may_move_at_most_every_reassign_interval():
    s = CycleScheduler(CADENCE, now_s=0.0)
    assert s.start_cycle(10.0) is True
    assert s.start_cycle(20.0) is False
    assert s.start_cycle(69.0) is False
    assert s.start_cycle(70.0) is True
    s.reassign_next()
    assert s.start_cycle(71.0) is True
