from __future__ import annotations

import pytest

from dedup.config import Config, ConfigError


def test_defaults_round_trip_through_dicts() -> None:
    config = Config()
    assert Config.from_dict(config.to_dict()) == config


def test_a_partial_table_overrides_only_what_it_names() -> None:
    config = Config.from_dict({"lsh": {"min_collisions": 7}, "align": {"rewrite_lcs": 0.3}})
    assert config.lsh.min_collisions == 7 and config.lsh.num_perm == Config().lsh.num_perm
    assert config.align.rewrite_lcs == 0.3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"lhs": {}}, "unknown config section 'lhs'; known: shingle, lsh, boilerplate, align"),
        ({"lsh": {"num_perms": 128}}, "unknown setting 'lsh.num_perms'; known: max_bucket, "
                                      "min_collisions, num_perm, seed"),
        ({"lsh": 5}, "config section 'lsh' must be a table of settings"),
        ({"lsh": {"num_perm": "many"}}, "setting 'lsh.num_perm' must be a whole number, "
                                        "got 'many'"),
        ({"lsh": {"num_perm": True}}, "setting 'lsh.num_perm' must be a whole number, got True"),
        ({"align": {"rewrite_lcs": "high"}}, "setting 'align.rewrite_lcs' must be a number, "
                                             "got 'high'"),
        ({"lsh": {"num_perm": 8, "min_collisions": 9}},
         "lsh.min_collisions must be between 1 and lsh.num_perm"),
    ],
)
def test_bad_settings_give_one_line_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        Config.from_dict(data)  # type: ignore[arg-type]
    assert str(error.value) == message


def test_an_int_is_accepted_for_a_float_setting() -> None:
    assert Config.from_dict({"align": {"rewrite_lcs": 1}}).align.rewrite_lcs == 1
