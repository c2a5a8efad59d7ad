"""The Grubhub (MDRP) mode end to end: reader, runs per policy, files, checker, KPIs, command."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from simulations.cli import main as simulate
from simulations.mdrp.checker import check_solution
from simulations.mdrp.cli import simulate_instance
from simulations.mdrp.instance import InstanceError, read_instance
from simulations.mdrp.kpis import mdrp_kpis
from simulations.mdrp.run import POLICIES, run_instance
from simulations.mdrp.solution import FILES, read_solution, solution_of, write_solution
from tests.conftest import SHARED_DATA

DATA = Path(__file__).resolve().parents[1] / "data"
TWO_ORDERS = DATA / "mdrp_two_orders"


def shared_instance(name: str) -> Path:
    path = SHARED_DATA / "mdrp" / name
    if not path.is_dir():
        pytest.fail(f"reference instance missing: {path} (expected ../shared/data beside the repo)")
    return path


# --- a day worked out by hand -------------------------------------------------------------------

@pytest.mark.parametrize("policy", POLICIES)
def test_two_orders_follow_the_rules_to_the_minute(policy, tmp_path):
    """Each courier is 6 minutes from its restaurant. o1 (placed 5, ready 20) must be collected
    at 20, so c1 has to leave at 12; the trip is committed in the cycle at 11:00.5 (the first
    within a minute of 12:00), c1 sets off on the next whole minute (12), arrives at 18, picks
    up at max(18 + 2, 20) = 20, leaves at 22, reaches the diner at 28 and drops off at 30.
    o2 (placed 10, ready 25) goes the same way with c2: assigned 17, picked up 25, dropped at
    35. Both click-to-door times are 25 minutes."""
    instance = read_instance(TWO_ORDERS)
    kpis = simulate_instance(instance, policy, tmp_path, progress=False)
    directory = tmp_path / instance.name / policy
    assert kpis["feasible"] and (directory / "check.txt").read_text().startswith("feasible")
    assert (directory / "solution_info_assignments.txt").read_text().splitlines()[1:] == [
        "12\t20\tc1\to1", "17\t25\tc2\to2"]
    assert (directory / "solution_info_orders.txt").read_text().splitlines()[1:] == [
        "o1\t5\t20\t20\t30\tc1", "o2\t10\t25\t25\t35\tc2"]
    assert (directory / "solution_info_couriers.txt").read_text().splitlines()[1:] == [
        "c1\t12\t0\tr1", "c1\t22\tr1\to1", "c2\t17\t0\tr2", "c2\t27\tr2\to2"]
    assert kpis["orders_delivered"] == 2 and kpis["orders_undelivered"] == 0
    assert kpis["click_to_door_mean_min"] == 25.0 and kpis["click_to_door_max_min"] == 25.0
    assert kpis["ready_to_pickup_mean_min"] == 0.0 and kpis["ready_to_door_mean_min"] == 10.0
    # Each courier drives 6 + 6 minutes and hands over for 4 + 4, of a 200-minute shift.
    assert kpis["courier_utilization_mean"] == pytest.approx(20 / 200)
    assert kpis["orders_per_bundle_mean"] == 1.0
    # Guaranteed pay (15/h x 200 min = 50) beats 10 per order for both couriers.
    assert kpis["courier_pay_total"] == 100.0 and kpis["cost_per_order"] == 50.0
    assert kpis["couriers_on_guaranteed_pay_share"] == 1.0
    assert (directory / "report.html").read_text().count("data:image/png;base64,") == 4


# --- the checker, from the rules -----------------------------------------------------------------

@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    """A real day (the smallest shared r50 instance) simulated with the nearest policy."""
    instance = read_instance(shared_instance("0r50t100s1p100"))
    run = run_instance(instance, "nearest")
    return instance, solution_of(run)


def test_a_simulated_day_passes_the_checker(good_run):
    instance, solution = good_run
    assert check_solution(instance, solution) == []
    assert len(solution.orders) == len(instance.orders)


def _rules(instance, solution) -> set[str]:
    return {v.rule for v in check_solution(instance, solution)}


def test_the_checker_catches_each_broken_rule(good_run):
    instance, sol = good_run
    a0 = sol.assignments[0]
    orders = {o.id: o for o in instance.orders}
    first = orders[a0.orders[0]]

    def with_assignment(**changes):
        return dataclasses.replace(sol, assignments=(dataclasses.replace(a0, **changes),
                                                     *sol.assignments[1:]))

    assert "assigned_after_placement" in _rules(
        instance, with_assignment(assignment_min=first.placement_min - 1))
    assert "pickup_before_ready" in _rules(
        instance, with_assignment(pickup_min=first.ready_min - 1))
    off = {c.id: c.off_min for c in instance.couriers}[a0.courier]
    assert "pickup_after_off_time" in _rules(instance, with_assignment(pickup_min=off + 1))
    twice = dataclasses.replace(sol, assignments=(*sol.assignments, sol.assignments[0]))
    assert "assigned_once" in _rules(instance, twice)
    # A courier that teleports: its second move leaves from somewhere it never went.
    moves = list(sol.moves)
    moves[1] = dataclasses.replace(moves[1], origin=instance.orders[-1].id)
    assert "moves" in _rules(instance, dataclasses.replace(sol, moves=tuple(moves)))
    # Leaving a place before arriving there.
    moves = list(sol.moves)
    moves[1] = dataclasses.replace(moves[1], departure_min=moves[0].departure_min)
    assert "moves" in _rules(instance, dataclasses.replace(sol, moves=tuple(moves)))
    # A drop-off claimed before the courier reached the diner.
    lines = list(sol.orders)
    lines[0] = dataclasses.replace(lines[0], dropoff_min=lines[0].dropoff_min - 3)
    assert "not_at_diner" in _rules(instance, dataclasses.replace(sol, orders=tuple(lines)))
    # A pickup while the courier is elsewhere.
    late = with_assignment(pickup_min=a0.pickup_min + 60)
    late = dataclasses.replace(late, orders=tuple(
        dataclasses.replace(o, pickup_min=a0.pickup_min + 60) if o.order in a0.orders else o
        for o in late.orders))
    assert "not_at_restaurant" in _rules(instance, late)


def test_the_checker_catches_a_wrong_delivery_sequence(good_run):
    instance, sol = good_run
    bundle = next((a for a in sol.assignments if len(a.orders) > 1), None)
    if bundle is None:  # nearest never bundles: make a two-order line out of two real ones
        a, b = sol.assignments[0], sol.assignments[1]
        by_order = {o.order: o for o in sol.orders}
        assert by_order[a.orders[0]].dropoff_min <= by_order[b.orders[0]].dropoff_min
        bundle = dataclasses.replace(a, orders=(b.orders[0], a.orders[0]))
        sol = dataclasses.replace(sol, assignments=(bundle, *sol.assignments[2:]))
    else:
        reversed_ = dataclasses.replace(bundle, orders=tuple(reversed(bundle.orders)))
        sol = dataclasses.replace(sol, assignments=tuple(
            reversed_ if a is bundle else a for a in sol.assignments))
    assert "delivery_sequence" in _rules(instance, sol)


# --- determinism, files and the command ----------------------------------------------------------

@pytest.fixture(scope="module")
def morning(tmp_path_factory) -> Path:
    """The smallest shared r50 instance cut to its orders placed before 07:00."""
    target = tmp_path_factory.mktemp("mdrp") / "0r50t100s1p100-morning"
    shutil.copytree(shared_instance("0r50t100s1p100"), target)
    lines = (target / "orders.txt").read_text().splitlines()
    kept = [lines[0]] + [line for line in lines[1:] if int(line.split()[3]) < 420]
    (target / "orders.txt").write_text("\n".join(kept) + "\n")
    return target


def test_the_same_command_gives_the_same_files(tmp_path, morning):
    source = morning
    for out in ("a", "b"):
        assert simulate(["mdrp", str(source), "--policy", "batch", "--out",
                         str(tmp_path / out), "--no-report", "--quiet"],
                        data_dir=tmp_path) == 0
    for name in (*FILES, "check.txt"):
        first = (tmp_path / "a" / source.name / "batch" / name).read_bytes()
        assert first == (tmp_path / "b" / source.name / "batch" / name).read_bytes(), name
    a = json.loads((tmp_path / "a" / source.name / "batch" / "kpis.json").read_text())
    b = json.loads((tmp_path / "b" / source.name / "batch" / "kpis.json").read_text())
    for timing in ("wall_s", "cpu_s", "simulated_min_per_wall_s"):
        a.pop(timing), b.pop(timing)
    assert a == b


def test_policy_all_writes_every_run_and_a_comparison(tmp_path, capsys):
    assert simulate(["mdrp", str(TWO_ORDERS), "--policy", "all", "--out", str(tmp_path),
                     "--quiet"], data_dir=tmp_path) == 0
    for policy in POLICIES:
        kpis = json.loads((tmp_path / TWO_ORDERS.name / policy / "kpis.json").read_text())
        for key in ("orders_delivered", "orders_undelivered", "click_to_door_mean_min",
                    "click_to_door_p90_min", "ready_to_pickup_mean_min",
                    "courier_utilization_mean", "orders_per_bundle_mean", "wall_s", "cpu_s"):
            assert key in kpis, key
    compare = (tmp_path / "compare.md").read_text()
    assert all(f"| {policy} |" in compare for policy in POLICIES)
    assert (tmp_path / "compare.png").read_bytes().startswith(b"\x89PNG")
    assert "feasible" in capsys.readouterr().out


def test_files_read_back_as_written(good_run, tmp_path):
    instance, solution = good_run
    write_solution(solution, tmp_path)
    again = read_solution(tmp_path)
    assert again == solution
    assert mdrp_kpis(instance, again) == mdrp_kpis(instance, solution)


# --- bad input -----------------------------------------------------------------------------------

def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "broken"
    shutil.copytree(TWO_ORDERS, target)
    return target


@pytest.mark.parametrize("file, content, message", [
    ("orders.txt", "order\tx\ty\tplacement_time\trestaurant\tready_time\no1\t1\t2\t5\tr1\n",
     "orders.txt:2: 5 columns, expected 6"),
    ("orders.txt", "order\tx\ty\tplacement\trestaurant\tready_time\no1\t1\t2\t5\tr1\t9\n",
     "orders.txt:1: header"),
    ("orders.txt", "order\tx\ty\tplacement_time\trestaurant\tready_time\no1\t1\t2\t9\tr1\t5\n",
     "orders.txt:2: order o1: ready_time 5 before placement_time 9"),
    ("orders.txt", "order\tx\ty\tplacement_time\trestaurant\tready_time\no1\t1\t2\t5\tr9\t9\n",
     "orders.txt:2: order o1: unknown restaurant 'r9'"),
    ("orders.txt", "order\tx\ty\tplacement_time\trestaurant\tready_time\no1\tone\t2\t5\tr1\t9\n",
     "orders.txt:2: x 'one' is not a number"),
    ("couriers.txt", "courier\tx\ty\ton_time\toff_time\nc1\t0\t0\t50\t40\n",
     "couriers.txt:2: courier c1: off_time 40 is not after on_time 50"),
    ("restaurants.txt", "restaurant\tx\ty\nr1\t0\t0\nr1\t1\t1\n",
     "restaurants.txt:3: duplicate id 'r1'"),
])
def test_bad_files_are_refused_naming_file_and_line(tmp_path, file, content, message):
    directory = _copy(tmp_path)
    (directory / file).write_text(content)
    with pytest.raises(InstanceError) as caught:
        read_instance(directory)
    assert message in str(caught.value)


def test_a_missing_file_is_named_and_the_command_exits_2(tmp_path, capsys):
    directory = _copy(tmp_path)
    (directory / "couriers.txt").unlink()
    assert simulate(["mdrp", str(directory), "--out", str(tmp_path / "out"), "--quiet"],
                    data_dir=tmp_path) == 2
    assert "couriers.txt: file missing" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
