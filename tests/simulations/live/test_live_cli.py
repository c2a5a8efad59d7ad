"""`courier simulate live` arguments, and `courier simulate` routing to its modes."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from simulations import cli as simulate_cli
from simulations.live.cli import DEMO_ADMIN, add_arguments, config_from_args


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_are_the_demo_service_and_its_admin():
    config = config_from_args(parse())
    assert config.base_url == "http://127.0.0.1:8000"
    assert (config.admin_user, config.admin_password) == DEMO_ADMIN == ("admin",
                                                                        "admin-demo-pass")
    assert config.duration_s is None and config.json_out is None and config.prefix == "sim"
    assert config.seller_count == 2 and config.buyer_count == 10


def test_every_knob_reaches_the_config():
    config = config_from_args(parse(
        "--base-url", "http://h:1", "--couriers", "30", "--orders-per-hour", "120",
        "--duration-s", "600", "--seed", "9", "--json", "out/live.json", "--admin-user", "a",
        "--admin-password", "b", "--prefix", "soak", "--sellers", "4", "--buyers", "12",
        "--accept-probability", "0.5", "--ignore-probability", "0", "--answer-delay-s", "1",
        "3", "--promise-min", "0", "--fail-probability", "0.1", "--dwell-s", "5", "9",
        "--speed-factor", "2", "--radius-m", "900", "--drain-s", "30"))
    assert (config.base_url, config.couriers, config.orders_per_hour) == ("http://h:1", 30, 120)
    assert (config.duration_s, config.seed, config.json_out) == (600, 9, Path("out/live.json"))
    assert (config.admin_user, config.admin_password, config.prefix) == ("a", "b", "soak")
    assert (config.seller_count, config.buyer_count) == (4, 12)
    assert config.offers.accept_probability == 0.5 and config.offers.ignore_probability == 0
    assert (config.offers.min_delay_s, config.offers.max_delay_s) == (1, 3)
    assert config.promise_min is None and config.fail_probability == 0.1
    assert config.dwell_s == (5, 9) and config.speed_factor == 2 and config.radius_m == 900
    assert config.drain_s == 30
    assert config_from_args(parse("--couriers", "30")).seller_count == 6


@pytest.mark.parametrize("argv", [("--couriers", "0"), ("--dwell-s", "9", "5"),
                                  ("--answer-delay-s", "5", "1")])
def test_nonsense_is_refused(argv):
    with pytest.raises(SystemExit):
        config_from_args(parse(*argv))


@pytest.mark.parametrize("argv", [("--accept-probability", "1.2"), ("--duration-s", "0")])
def test_out_of_range_values_are_refused_by_the_parser(argv, capsys):
    with pytest.raises(SystemExit):
        parse(*argv)


def test_simulate_routes_each_mode_to_its_module():
    parser = simulate_cli.build_parser()
    args = parser.parse_args(["live", "--couriers", "3"])
    assert args.module == "simulations.live.cli" and args.couriers == 3
    args = parser.parse_args(["mdrp", "some-dir", "--out", "out", "--policy", "all"])
    assert args.module == "simulations.mdrp.cli" and args.policy == "all"
    args = parser.parse_args(["city", "--network", "demo", "--out", "out"])
    assert args.module == "simulations.city.cli" and args.network == "demo"
